package scan

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/offline"
	"github.com/exechunt/exechunt/offline/finding"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/packs"
)

// chain is a small process chain (explorer → winword → cmd → powershell → conhost)
// with two script blocks, written for the event tables' tests.
const chain = "../../tables/eventtables/testdata/chain.jsonl"

func newScanner(t *testing.T, opt Options) *Scanner {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := sqlengine.Open(offline.Tables([]string{chain}, nil, log), sqlengine.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return New(e, opt)
}

func q(name, sql string) Query {
	return Query{Pack: "p", Query: packs.Query{Name: name, SQL: sql, Technique: "T1059", Severity: "high"}}
}

func TestQuery(t *testing.T) {
	tests := []struct {
		name     string
		minScore int
		sql      string
		want     int
		evidence bool // every finding locates its event
	}{
		{"all process creations", 0, "SELECT name, score, evidence FROM process_creation_events", 5, true},
		{"score filter", 60, "SELECT name, score, evidence FROM process_creation_events", 2, true},
		{"no score column is kept", 60, "SELECT name, evidence FROM process_creation_events", 5, true},
		{"no evidence column", 0, "SELECT name FROM process_creation_events", 5, false},
		{"script block parts", 0, "SELECT script_block_id, evidence FROM powershell_script_blocks", 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScanner(t, Options{MinScore: tt.minScore})
			var got []finding.Finding
			n, err := s.Query(context.Background(), q("x", tt.sql), func(fd *finding.Finding) error {
				got = append(got, *fd)
				return nil
			})
			if err != nil || n != tt.want || len(got) != tt.want {
				t.Fatalf("Query = %d, %v (%d findings); want %d", n, err, len(got), tt.want)
			}
			for _, fd := range got {
				if fd.Pack != "p" || fd.Query != "x" || fd.Technique != "T1059" || fd.Severity != "high" || len(fd.Columns) != len(fd.Row) {
					t.Errorf("finding %+v", fd)
				}
				located := fd.Evidence.File == chain && len(fd.Evidence.EventRecordIDs) > 0 && fd.Evidence.Locator != ""
				if located != tt.evidence {
					t.Errorf("evidence %+v, want located %v", fd.Evidence, tt.evidence)
				}
			}
		})
	}
}

func TestRun(t *testing.T) {
	var failed []string
	var seen []int
	s := newScanner(t, Options{
		OnQuery: func(i int, _ Query, _ int) { seen = append(seen, i) },
		OnError: func(q Query, err error) { failed = append(failed, q.ID()+": "+err.Error()) },
	})
	queries := []Query{
		q("ok", "SELECT name, evidence FROM process_creation_events"),
		q("typo", "SELECT nam FROM process_creation_events"),
		q("scripts", "SELECT evidence FROM powershell_script_blocks"),
	}
	st, err := s.Run(context.Background(), queries, func(*finding.Finding) error { return nil })
	if err != nil || st != (Stats{Queries: 3, Failed: 1, Findings: 7}) || len(seen) != 3 {
		t.Errorf("Run = %+v, %v; OnQuery %v", st, err, seen)
	}
	if len(failed) != 1 || !strings.HasPrefix(failed[0], "p/typo: ") {
		t.Errorf("OnError: %q", failed)
	}

	// An output that fails ends the scan.
	full := errors.New("disk full")
	st, err = s.Run(context.Background(), queries, func(*finding.Finding) error { return full })
	var oerr *OutputError
	if !errors.As(err, &oerr) || !errors.Is(err, full) || st.Findings != 0 {
		t.Errorf("Run with a failing output = %+v, %v", st, err)
	}
}

func TestSelect(t *testing.T) {
	ps := []packs.Pack{{Name: "a", Queries: []packs.Query{{Name: "stack", Severity: StackOnly}, {Name: "hit", Severity: "high"}}}}
	tests := []struct {
		stacks bool
		want   string
	}{
		{false, "a/hit"},
		{true, "a/stack a/hit"},
	}
	for _, tt := range tests {
		var ids []string
		for _, q := range Select(ps, tt.stacks) {
			ids = append(ids, q.ID())
		}
		if got := strings.Join(ids, " "); got != tt.want {
			t.Errorf("Select(stacks=%v) = %q, want %q", tt.stacks, got, tt.want)
		}
	}
}

func TestLoadPacks(t *testing.T) {
	all, err := LoadPacks("", []string{"all"})
	if err != nil || len(all) < 2 {
		t.Fatalf("all: %d packs, %v", len(all), err)
	}
	tests := []struct {
		names   []string
		want    int
		wantErr string
	}{
		{[]string{" execution-basics.json"}, 1, ""},
		{[]string{"execution-basics", "nope", "zzz"}, 0, "no such pack nope,zzz (known: "},
	}
	for _, tt := range tests {
		got, err := LoadPacks("", tt.names)
		if len(got) != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("LoadPacks(%q) = %d packs, %v", tt.names, len(got), err)
		}
	}
	if _, err := LoadPacks(t.TempDir()+"/missing", []string{"all"}); err == nil {
		t.Error("a missing packs folder is not an error")
	}
}
