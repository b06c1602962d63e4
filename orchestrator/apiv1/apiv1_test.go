package apiv1

import (
	"bytes"
	"strings"
	"testing"
)

func TestRoles(t *testing.T) {
	for _, tc := range []struct {
		have, need string
		want       bool
	}{
		{RoleViewer, RoleViewer, true}, {RoleViewer, RoleHunter, false}, {RoleHunter, RoleViewer, true},
		{RoleHunter, RoleAdmin, false}, {RoleAdmin, RoleHunter, true}, {"root", RoleViewer, false}, {"", RoleViewer, false},
	} {
		if got := RoleAllows(tc.have, tc.need); got != tc.want {
			t.Errorf("RoleAllows(%q, %q) = %v", tc.have, tc.need, got)
		}
	}
	if !ValidRole(RoleAdmin) || ValidRole("Admin") {
		t.Error("ValidRole")
	}
}

func TestWriteAnomalies(t *testing.T) {
	list := []Anomaly{{Stack: Stack{Query: "p/q", Values: map[string]string{"name": "=cmd|' /C calc'!A0", "parent_name": "winword.exe"},
		HostCount: 2}, ID: "7k3f9x2pq7", State: TriageOpen, Hunts: []string{"h1", "h2"}, Reasons: []string{"=HYPERLINK(\"http://x\")", "new"}}}
	var b bytes.Buffer
	if err := WriteAnomalies(&b, "csv", list); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "id,rank,state,query,technique,severity,stack,") {
		t.Fatalf("csv:\n%s", b.String())
	}
	if !strings.HasPrefix(lines[1], "7k3f9x2pq7,") || !strings.HasSuffix(lines[1], ",h1 h2") ||
		!strings.Contains(lines[1], ",name==cmd|' /C calc'!A0 | parent_name=winword.exe,") || !strings.Contains(lines[1], `"'=HYPERLINK(""http://x""); new"`) {
		t.Errorf("csv row: %s", lines[1])
	}
	b.Reset()
	if err := WriteAnomalies(&b, "jsonl", append(list, list...)); err != nil || strings.Count(b.String(), "\n") != 2 {
		t.Errorf("jsonl: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := WriteAnomalies(&b, "json", nil); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("json of none: %v %q", err, b.String())
	}
	if err := WriteAnomalies(&b, "xml", list); err == nil {
		t.Error("xml accepted")
	}
}

func TestStackLabel(t *testing.T) {
	for _, c := range []struct {
		values map[string]string
		want   string
	}{
		{map[string]string{"parent_name": "winword.exe", "name": "powershell.exe"}, "winword.exe → powershell.exe"},
		{map[string]string{"parent_name": "services.exe", "name": "cmd.exe", "computer": "web01", "cmdline_shape": "cmd /c <str>"},
			"services.exe → cmd.exe | cmdline_shape=cmd /c <str> | computer=web01"},
		{map[string]string{"parent_name": "", "name": "x.exe"}, "— → x.exe"},
		{map[string]string{"name": "mshta.exe", "cmdline_shape": "mshta <str>"}, "cmdline_shape=mshta <str> | name=mshta.exe"},
	} {
		if got := (Stack{Values: c.values}).Label(); got != c.want {
			t.Errorf("Label(%v) = %q, want %q", c.values, got, c.want)
		}
	}
}
