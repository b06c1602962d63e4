package evidence

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/tables/event"
	"github.com/exechunt/exechunt/tables/source"
)

// TestWalkCountsFiles: inside a folder, a text file under a generic name whose
// content is no evidence is skipped like a file with another extension; one named as
// a format that is not is unreadable (a problem), as is any file named on the
// command line; a file read with problems is damaged.
func TestWalkCountsFiles(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile("../eventtables/testdata/chain.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"good.jsonl": string(good),
		"bad.jsonl":  string(good) + "{cut\n",
		"app.log":    "12:00 started\n",
		"notes.txt":  "hello\n",
		"fake.evtx":  "not a log\n",
		"pic.png":    "\x89PNG",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		paths                                     []string
		files, skipped, failed, damaged, problems int
		problem                                   string
	}{
		{[]string{dir}, 3, 3, 1, 1, 2, "fake.evtx: format not recognised"},
		{[]string{filepath.Join(dir, "app.log")}, 1, 0, 1, 0, 1, "app.log: format not recognised"},
	} {
		var problems []string
		opt := Options{Problem: func(p *source.Problem) { problems = append(problems, p.Error()) }}
		sum, err := Walk(context.Background(), tc.paths, opt, func(*event.Event) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if sum.Files != tc.files || sum.FilesSkipped != tc.skipped || sum.FilesFailed != tc.failed ||
			sum.FilesDamaged != tc.damaged || len(problems) != tc.problems {
			t.Errorf("%v: summary %+v, problems %q", tc.paths, sum, problems)
		}
		if !strings.Contains(strings.Join(problems, "\n"), tc.problem) {
			t.Errorf("%v: problems %q lack %q", tc.paths, problems, tc.problem)
		}
	}
}
