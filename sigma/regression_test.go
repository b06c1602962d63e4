package sigma

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/offline/sqlengine"
)

// regressionCase is one SigmaHQ regression sample: a rule id, its single-event EVTX
// and the match count the rule must give on it.
type regressionCase struct {
	dir, ruleID, title, evtx string
	want                     int
}

func regressionCases(t testing.TB) []regressionCase {
	t.Helper()
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	root := filepath.Join(dir, "SigmaHQ_sigma", "regression_data")
	var out []regressionCase
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "info.yml" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var info struct {
			RuleMetadata []struct {
				ID    string `yaml:"id"`
				Title string `yaml:"title"`
			} `yaml:"rule_metadata"`
			Tests []struct {
				Name       string `yaml:"name"`
				Type       string `yaml:"type"`
				MatchCount *int   `yaml:"match_count"`
				Path       string `yaml:"path"`
			} `yaml:"regression_tests_info"`
		}
		if err := yaml.Unmarshal(data, &info); err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		for _, m := range info.RuleMetadata {
			for _, tc := range info.Tests {
				if tc.Type != "evtx" {
					continue
				}
				// A positive test without match_count expects one match (the
				// sample is one event).
				want := 1
				if tc.MatchCount != nil {
					want = *tc.MatchCount
				}
				ev := filepath.Join(filepath.Dir(p), filepath.Base(tc.Path))
				out = append(out, regressionCase{dir: filepath.Dir(p), ruleID: m.ID, title: m.Title, evtx: ev, want: want})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Skip("no SigmaHQ regression samples in the corpus")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].dir < out[j].dir })
	return out
}

// countRows runs one query over evidence with the offline engine.
func countRows(t testing.TB, paths []string, sql string) (int, error) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := sqlengine.Open(eventTables(paths, log), sqlengine.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rows, err := e.Query(context.Background(), sql)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

// TestRegressionSamples converts each SigmaHQ rule that has a regression sample in
// the corpus and checks that the offline engine gives the sample's match count.
func TestRegressionSamples(t *testing.T) {
	cases := regressionCases(t)
	res := referenceRules(t)
	byID := map[string]*Query{}
	for _, q := range res.Queries {
		byID[q.RuleID] = q
	}
	skipped := map[string]Skipped{}
	for _, k := range res.Skipped {
		skipped[k.RuleID] = k
	}
	var withRule, converted, exact int
	for _, c := range cases {
		q, ok := byID[c.ruleID]
		if !ok {
			if k, ok := skipped[c.ruleID]; ok {
				withRule++
				t.Logf("not converted: %s (%s): %s", c.ruleID, c.title, k.Reason)
			} else {
				t.Logf("no rule in the reference set: %s (%s)", c.ruleID, c.title)
			}
			continue
		}
		withRule++
		converted++
		n, err := countRows(t, []string{c.evtx}, q.SQL)
		switch {
		case err != nil:
			t.Errorf("%s (%s): %v\n%s", q.Name, c.ruleID, err, q.SQL)
		case n != c.want:
			t.Errorf("%s (%s): %d matches, want %d\n%s", q.Name, c.ruleID, n, c.want, q.SQL)
		default:
			exact++
		}
	}
	t.Logf("regression samples: %d, with a rule in the reference set: %d, converted: %d, exact match count: %d of %d converted (%.1f%%)",
		len(cases), withRule, converted, exact, converted, 100*float64(exact)/float64(max(converted, 1)))
}

// TestAllConvertedQueriesRun runs every converted SigmaHQ rule on the offline engine
// over the regression samples: each must compile (SQLite's limits included) and its
// regexes must compile where regex_match evaluates them.
func TestAllConvertedQueriesRun(t *testing.T) {
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	res := referenceRules(t)
	e := openEngine(t, filepath.Join(dir, "SigmaHQ_sigma", "regression_data"))
	for _, q := range res.Queries {
		rows, err := e.Query(context.Background(), q.SQL)
		if err != nil {
			t.Errorf("%s: %v", q.Name, err)
			continue
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			t.Errorf("%s: %v", q.Name, err)
		}
		rows.Close()
	}
}
