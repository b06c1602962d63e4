package sigma

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/internal/corpus"
)

// referenceRules converts the SigmaHQ rule sets of ../shared/reference/sigma.
func referenceRules(t testing.TB) *Result {
	t.Helper()
	ref, ok := corpus.ReferenceDir()
	if !ok {
		t.Skip("reference folder not found: put it at ../shared/reference or set " + corpus.ReferenceEnv)
	}
	res, err := ConvertPaths(filepath.Join(ref, "sigma"))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestReferenceConversion(t *testing.T) {
	res := referenceRules(t)
	s := res.Summary()
	t.Logf("SigmaHQ process_creation + ps_script: %s", s)
	if s.Converted+s.Unsupported < 1000 || float64(s.Converted) < 0.9*float64(s.Converted+s.Unsupported) {
		t.Errorf("conversion share fell below 90%%: %s", s)
	}
	per := map[string][2]int{}
	for _, q := range res.Queries {
		x := per[q.Pack]
		x[0]++
		per[q.Pack] = x
	}
	for _, k := range res.Skipped {
		p := packName(Logsource{Category: strings.Split(k.Logsource, "/")[0], Product: strings.Split(k.Logsource+"/", "/")[1]})
		x := per[p]
		x[1]++
		per[p] = x
	}
	for p, x := range per {
		t.Logf("%s: %d of %d converted", p, x[0], x[0]+x[1])
	}
	reasons := map[string]int{}
	for _, k := range res.Skipped {
		r := k.Reason
		if i := strings.Index(r, ": "); i >= 0 && !strings.HasPrefix(r, "field") {
			r = r[i+2:]
		}
		if len(r) > 90 {
			r = r[:90]
		}
		reasons[r]++
	}
	type kv struct {
		k string
		n int
	}
	var all []kv
	for k, n := range reasons {
		all = append(all, kv{k, n})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n })
	for i, x := range all {
		if i >= 40 {
			break
		}
		t.Log(fmt.Sprintf("%4d  %s", x.n, x.k))
	}
}
