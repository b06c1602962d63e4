package scan

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/osquery/osquery-go/plugin/table"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/offline"
	"github.com/exechunt/exechunt/offline/finding"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/packs"
	"github.com/exechunt/exechunt/sigma"
	"github.com/exechunt/exechunt/sigma/engine"
)

// sigmaRules are rules over the chain fixture, of both logsources.
var sigmaRules = []string{
	"title: Office spawns a shell\nid: r1\nlevel: high\ntags: [attack.t1204.002]\nlogsource: {category: process_creation, product: windows}\n" +
		"detection:\n  sel: {ParentImage|endswith: '\\WINWORD.EXE'}\n  condition: sel\n",
	"title: Any process but explorer\nid: r2\nlevel: low\nlogsource: {category: process_creation, product: windows}\n" +
		"detection:\n  sel: {Image|endswith: '.exe'}\n  f: {Image|contains: 'explorer'}\n  condition: sel and not f\n",
	"title: Download cradle\nid: r3\nlevel: medium\ntags: [attack.t1059.001]\nlogsource: {category: ps_script, product: windows}\n" +
		"detection:\n  sel: {ScriptBlockText|re: '(?i)downloadstring\\('}\n  condition: sel\n",
	"title: Nothing\nid: r4\nlevel: critical\nlogsource: {category: ps_script, product: windows}\n" +
		"detection:\n  sel: {ScriptBlockText|contains: 'no such text'}\n  condition: sel\n",
}

// compareWithSQL runs the converted rules as queries (the SQL engine) and through
// the compiled engine over the same evidence, and compares the findings as JSON.
func compareWithSQL(t *testing.T, res *sigma.Result, paths []string, minScore int) int {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ev := offline.Open(paths, offline.Options{Logger: log})
	e, err := sqlengine.Open(ev.Tables, sqlengine.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var want []string
	var qs []Query
	for _, q := range res.Queries {
		qs = append(qs, Query{Pack: q.Pack, Query: packsQueryOf(q)})
	}
	collect := func(out *[]string) func(*finding.Finding) error {
		return func(f *finding.Finding) error {
			b, err := f.MarshalJSON()
			*out = append(*out, string(b))
			return err
		}
	}
	st, err := New(e, Options{MinScore: minScore}).Run(context.Background(), qs, collect(&want))
	if err != nil || st.Failed > 0 {
		t.Fatalf("SQL: %v, %d failed", err, st.Failed)
	}
	schemas := map[string][]table.ColumnDefinition{}
	for _, tb := range ev.Tables {
		schemas[tb.Name] = tb.Columns
	}
	eng, skipped := engine.New(res.Queries, schemas)
	if len(skipped) > 0 {
		t.Fatalf("engine skipped %s: %s", skipped[0].Query.Name, skipped[0].Reason)
	}
	var got []string
	if _, err := Sigma(context.Background(), eng, ev.Tables, Options{MinScore: minScore}, collect(&got)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("engine findings differ from the SQL's: %d, want %d", len(got), len(want))
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("first difference, finding %d:\nengine %s\nSQL    %s", i, got[i], want[i])
				break
			}
		}
	}
	return len(want)
}

func packsQueryOf(q *sigma.Query) packs.Query {
	return packs.Query{Name: q.Name, SQL: q.SQL, Technique: q.Technique, Severity: q.Severity}
}

func TestSigmaSameFindingsAsSQL(t *testing.T) {
	res := &sigma.Result{}
	for i, text := range sigmaRules {
		r, err := sigma.ParseRule("rule"+string(rune('a'+i))+".yml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		res.Add(r)
	}
	if len(res.Queries) != len(sigmaRules) {
		t.Fatalf("converted %d of %d rules: %+v", len(res.Queries), len(sigmaRules), res.Skipped)
	}
	if n := compareWithSQL(t, res, []string{chain}, 0); n < 4 {
		t.Errorf("%d findings: the rules should find more in the chain", n)
	}
	compareWithSQL(t, res, []string{chain}, 30) // --min-score drops the same rows
}

// TestSigmaSameFindingsAsSQLRegression does the same with every SigmaHQ rule over
// the SigmaHQ regression samples.
func TestSigmaSameFindingsAsSQLRegression(t *testing.T) {
	dir, rules := corpus.SigmaRules(t)
	res, err := sigma.ConvertPaths(rules)
	if err != nil {
		t.Fatal(err)
	}
	n := compareWithSQL(t, res, []string{filepath.Join(dir, "SigmaHQ_sigma", "regression_data")}, 0)
	t.Logf("%d rules, %d findings", len(res.Queries), n)
}

// sigmaMatchesSameAsScan loads the rules in rules into the offline engine's
// sigma_matches and checks that the table returns, rule for rule and event for
// event, the findings of scan --sigma (Sigma) with the same rules over paths.
func sigmaMatchesSameAsScan(t *testing.T, rules string, paths []string) int {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ev := offline.Open(paths, offline.Options{Logger: log})
	if _, err := ev.Sigma.Load(rules); err != nil {
		t.Fatal(err)
	}
	e, err := sqlengine.Open(ev.Tables, sqlengine.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rows, err := e.Query(context.Background(), "SELECT rule_name, evidence FROM sigma_matches")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		v := rows.Values()
		got = append(got, finding.Text(v[0])+" "+finding.Text(v[1]))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	var want []string
	_, err = Sigma(context.Background(), ev.Sigma.Rules(), ev.Tables, Options{}, func(f *finding.Finding) error {
		want = append(want, f.Query+" "+finding.Text(f.Row["evidence"]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("sigma_matches has %d rows, scan --sigma %d findings", len(got), len(want))
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("first difference:\nsigma_matches %s\nscan          %s", got[i], want[i])
				break
			}
		}
	}
	return len(want)
}

// TestSigmaMatchesSameAsScan: the offline engine serves sigma_matches, and it holds
// what scan --sigma finds.
func TestSigmaMatchesSameAsScan(t *testing.T) {
	dir := t.TempDir()
	for i, text := range sigmaRules {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("rule%d.yml", i)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n := sigmaMatchesSameAsScan(t, dir, []string{chain}); n < 4 {
		t.Errorf("%d matches: the rules should find more in the chain", n)
	}
}

// TestSigmaMatchesSameAsScanRegression does the same with every SigmaHQ rule over
// the SigmaHQ regression samples.
func TestSigmaMatchesSameAsScanRegression(t *testing.T) {
	dir, rules := corpus.SigmaRules(t)
	n := sigmaMatchesSameAsScan(t, rules, []string{filepath.Join(dir, "SigmaHQ_sigma", "regression_data")})
	t.Logf("%d matches", n)
	if n == 0 {
		t.Error("no rule matched its regression samples")
	}
}
