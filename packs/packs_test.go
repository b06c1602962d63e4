package packs

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/exechunt/exechunt/internal/corpus"
	"github.com/exechunt/exechunt/offline"
	"github.com/exechunt/exechunt/offline/sqlengine"
	"github.com/exechunt/exechunt/tables/analysis"
)

func TestEmbedded(t *testing.T) {
	ps, err := Load(FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) == 0 {
		t.Fatal("no embedded packs")
	}
	for _, p := range ps {
		for _, q := range p.Queries {
			if q.Technique == "" || q.Severity == "" || q.Description == "" || len(q.Stack) == 0 {
				t.Errorf("%s/%s: technique, severity, description and stack are required in exechunt's packs", p.Name, q.Name)
			}
			// The anomaly page shows a process's decoded command beside its command
			// line; the server has no analysis of its own, so the rows must carry it.
			sel, _, _ := strings.Cut(q.SQL, " FROM ")
			if strings.Contains(q.SQL, "process_creation_events") && strings.Contains(sel, "cmdline") &&
				!strings.Contains(sel, "decoded_command") {
				t.Errorf("%s/%s: returns cmdline without decoded_command", p.Name, q.Name)
			}
		}
	}
}

// TestOsqueryPacks: osquery's own packs load unmodified (osx-attacks.conf continues
// strings with a backslash at the end of the line).
func TestOsqueryPacks(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "shared", "reference", "osquery-packs")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("osquery's packs not found at ../shared/reference/osquery-packs")
	}
	ps, err := Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range ps {
		n += len(p.Queries)
		if p.Name == "osx-attacks" {
			for _, q := range p.Queries {
				if q.Name == "WireLurker" && (!strings.Contains(q.SQL, "name = 'com.apple.machook_damon.plist' OR") || q.Interval != 3600) {
					t.Errorf("WireLurker: %q interval %d", q.SQL, q.Interval)
				}
			}
		}
	}
	if len(ps) != 10 || n < 300 {
		t.Errorf("%d packs, %d queries", len(ps), n)
	}
}

func TestParse(t *testing.T) {
	good := "# a comment\n{\n  // another\n  \"platform\": \"windows\",\n  \"queries\": {\n    \"q\": {\"query\": \"SELECT \\\n 1\", \"interval\": \"60\", \"snapshot\": \"true\", \"removed\": false, \"denylist\": 0,\n" +
		"      \"technique\": \"T1059.001\", \"severity\": \"high\", \"stack\": [\"name\"], \"schedule\": \"@hourly\"}\n  }\n}\n"
	p, err := Parse("x.json", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	q := p.Queries[0]
	if p.Name != "x" || q.SQL != "SELECT  1" || q.Interval != 60 || !q.Snapshot || q.Denylist == nil || *q.Denylist || q.Stack[0] != "name" {
		t.Errorf("parsed %+v %+v", p, q)
	}
	bad := []struct{ text, want string }{
		{"{\n\"queries\": {\n\"q\": {\"query\": \"x\",}\n}\n}", "x.json:3"},
		{"{\n\"queries\": {\n\"q\": {\"query\": \"x\", \"severity\": \"urgent\"}}}", `x.json:3: query "q": severity "urgent"`},
		{"{\n\"queries\": {\n\n\"q\": {\"query\": \"x\", \"technique\": \"1059\"}}}", `x.json:4: query "q": technique "1059"`},
		{"{\"queries\": {\"q\": {\"query\": \" \"}}}", `empty "query"`},
		{"{\"queries\": {\"q\": {\"query\": \"x\", \"interval\": \"soon\"}}}", "x.json:1"},
		{"{\"platform\": \"windows\"}", `no "queries"`},
		{"{\n\"queries\": {", "x.json:2"},
	}
	for _, b := range bad {
		_, err := Parse("x.json", []byte(b.text))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: err = %v, want %q", b.text, err, b.want)
		}
	}
	// Load reads *.json and *.conf only, and reports every bad file.
	ps, err := Load(fstest.MapFS{
		"a.json":      {Data: []byte(good)},
		"b.conf":      {Data: []byte(good)},
		"README.md":   {Data: []byte("#")},
		"broken.json": {Data: []byte("{")},
	})
	if len(ps) != 2 || err == nil || !strings.Contains(err.Error(), "broken.json") {
		t.Errorf("Load: %d packs, err %v", len(ps), err)
	}
}

// TestPacksRunOnCorpus runs every query of every pack in this folder on the offline
// engine over the corpus: a query that does not compile or fails fails the test.
func TestPacksRunOnCorpus(t *testing.T) {
	ps, err := Load(FS)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var paths []string
	dir, ok := corpus.Dir()
	if ok {
		paths = []string{dir}
	}
	e, err := sqlengine.Open(offline.Tables(paths, analysis.New(), log), sqlengine.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	total := 0
	for _, p := range ps {
		for _, q := range p.Queries {
			if !ok { // without the corpus, at least compile every query
				if err := e.Check(q.SQL); err != nil {
					t.Errorf("%s/%s: %v", p.Name, q.Name, err)
				}
				continue
			}
			rows, err := e.Query(context.Background(), q.SQL)
			if err != nil {
				t.Errorf("%s/%s: %v", p.Name, q.Name, err)
				continue
			}
			cols := map[string]bool{}
			for _, c := range rows.Columns() {
				cols[c] = true
			}
			for _, s := range q.Stack {
				if s == ShapeColumn && cols["cmdline"] {
					continue // the stacker computes the shape from cmdline
				}
				if !cols[s] {
					t.Errorf("%s/%s: stack column %q is not in the result", p.Name, q.Name, s)
				}
			}
			if readsEventTable(q.SQL) && (!cols["time"] || !cols["evidence"]) {
				t.Errorf("%s/%s: a query over an event table must return time (for dispatch windows) and evidence (to find the event)", p.Name, q.Name)
			}
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Err(); err != nil {
				t.Errorf("%s/%s: %v", p.Name, q.Name, err)
			}
			rows.Close()
			total += n
			t.Logf("%s/%s: %d rows", p.Name, q.Name, n)
		}
	}
	if !ok {
		t.Skip(corpus.SkipMessage + " (queries compiled only)")
	}
	if total == 0 {
		t.Error("no pack query found anything in the corpus")
	}
}
