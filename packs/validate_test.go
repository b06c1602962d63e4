package packs

import (
	"strings"
	"testing"
)

// TestParseNamesTheBadValue: a bad value in a pack file is refused with its file,
// line and key, and a schedule cron cannot run is refused as the scheduler would
// (serve --packs-dir accepted "61 * * * *").
func TestParseNamesTheBadValue(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"interval not a number", `{"queries": {
  "a": {"query": "select 1", "interval": "abc"}}}`, []string{`p.json:2: "interval": want a number, got "abc"`}},
		{"shard not a number", `{"shard": "most", "queries": {}}`, []string{`p.json:1: "shard"`}},
		{"minute out of range", `{"queries": {
  "b": {"query": "select 2", "interval": 10, "schedule": "61 * * * *"}}}`, []string{`p.json:2: query "b": schedule "61 * * * *"`, "above maximum"}},
		{"time zone", `{"queries": {"c": {"query": "select 3", "schedule": "TZ=Europe/Paris 0 * * * *"}}}`, []string{"time zones are not supported"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.json", []byte(tc.body))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := Parse("ok.json", []byte(`{"queries": {"d": {"query": "select 4", "schedule": "@hourly"}}}`)); err != nil {
		t.Errorf("@hourly refused: %v", err)
	}
}

// TestValidateChecksBuiltPacks: a pack built in code is checked like a file.
func TestValidateChecksBuiltPacks(t *testing.T) {
	p := Pack{Name: "built", Queries: []Query{{Name: "z", SQL: "select 1", Severity: "severe"}, {Name: "a", SQL: "select 2"}}}
	err := p.Validate()
	if err == nil || !strings.Contains(err.Error(), `query "z": severity "severe"`) {
		t.Errorf("err = %v", err)
	}
	if p.Queries[0].Name != "a" {
		t.Errorf("queries not sorted: %v", p.Queries)
	}
}
