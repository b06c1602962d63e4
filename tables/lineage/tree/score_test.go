package tree

import "testing"

// TestInputTakesTheParentFromTheRecordFirst: a creation record's parent fields (the
// parent when the process was created) win over the resolved parent; without them
// the resolved parent is the context, by path or else by name.
func TestInputTakesTheParentFromTheRecordFirst(t *testing.T) {
	resolved := Proc{PID: 10, Name: "EXPLORER.EXE", Cmdline: "explorer.exe"}
	child := Proc{PID: 11, PPID: 10, Path: `C:\w\cmd.exe`, ParentPath: `C:\o\WINWORD.EXE`, ParentCmdline: "winword /n a.docm"}
	if in := Input(&child, &resolved, 60); in.ParentImage != child.ParentPath || in.ParentCmdline != child.ParentCmdline || in.ParentScore != 60 {
		t.Errorf("recorded parent: %+v", in)
	}
	live := Proc{PID: 11, PPID: 10, Name: "cmd.exe"}
	if in := Input(&live, &resolved, 0); in.Image != "cmd.exe" || in.ParentImage != "EXPLORER.EXE" || in.ParentCmdline != "explorer.exe" {
		t.Errorf("resolved parent: %+v", in)
	}
	if in := Input(&live, nil, 0); in.ParentImage != "" || in.ParentCmdline != "" {
		t.Errorf("no parent: %+v", in)
	}
}

// TestGUIDShape: derived GUIDs take the form of Sysmon's in the tables (lower case,
// no braces) and differ by scope, pid and start.
func TestGUIDShape(t *testing.T) {
	g := DeriveGUID("WS1", 42, 1000)
	if len(g) != 36 || g[8] != '-' || g[13] != '-' || g[18] != '-' || g[23] != '-' {
		t.Errorf("shape %q", g)
	}
	n := NewNode(Proc{PID: 42, Host: "WS1"})
	if n.GUID() == g {
		t.Error("start time not in the GUID")
	}
}
