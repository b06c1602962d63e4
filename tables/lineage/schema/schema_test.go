package schema

import (
	"strings"
	"testing"
)

func TestProcessName(t *testing.T) {
	for _, c := range []struct{ path, short, want string }{
		{`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, "WINWORD.EXE", "winword.exe"},
		{"", "WINWORD.EXE", "winword.exe"},
		{"/usr/bin/dash", "sh", "dash"},                     // the executable, as Sysmon for Linux names it
		{"/tmp/.x/implant (deleted)", "kworker", "implant"}, // Linux marks an unlinked executable
		{"", "kworker/0:1-events", "kworker/0:1-events"},    // comm is a name, not a path
		{"System", "System", "system"},
		{"", "", ""},
	} {
		if got := ProcessName(c.path, c.short); got != c.want {
			t.Errorf("ProcessName(%q, %q) = %q, want %q", c.path, c.short, got, c.want)
		}
	}
}

func TestStatusWordsAreDocumented(t *testing.T) {
	var desc string
	for _, c := range Columns() {
		if c.Name == Status {
			desc = c.Description
		}
	}
	for s := Complete; s <= Truncated; s++ {
		if w := s.String(); w == "unknown" || !strings.Contains(desc, w) {
			t.Errorf("state %d (%q) not in the lineage_status description %q", s, w, desc)
		}
	}
}
