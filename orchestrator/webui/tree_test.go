package webui

import (
	"strings"
	"testing"
)

func names(ns []*Node) string {
	var out []string
	for _, n := range ns {
		s := n.Name
		if len(n.Children) > 0 {
			s += "(" + names(n.Children) + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestBuildTree(t *testing.T) {
	rows := []map[string]string{
		{"pid": "1", "name": "systemd", "ancestry": "systemd", "score": "0"},
		{"pid": "10", "parent": "1", "name": "sshd", "ancestry": "systemd > sshd", "ancestor_pids": "1", "score": "0"},
		{"pid": "11", "parent": "10", "name": "bash", "ancestry": "systemd > sshd > bash", "ancestor_pids": "1,10", "score": "0"},
		{"pid": "12", "parent": "11", "name": "curl", "ancestry": "systemd > sshd > bash > curl", "ancestor_pids": "1,10,11", "score": "70", "indicators": "download_cradle, pipe_to_shell"},
		{"pid": "20", "parent": "1", "name": "cron", "ancestry": "systemd > cron", "ancestor_pids": "1", "score": "0"},
		// Cut chains: parents without rows become ghosts, shared by siblings.
		{"pid": "31", "parent": "30", "name": "sh", "ancestry": "? > x > sh", "ancestor_pids": "29,30", "score": "0"},
		{"pid": "32", "parent": "30", "name": "perl", "ancestry": "? > x > perl", "ancestor_pids": "29,30", "score": "0"},
	}
	tr := BuildTree(rows, "", 0)
	if got := names(tr.Roots); got != "systemd(sshd(bash(curl)))" {
		t.Errorf("pruned tree = %q", got)
	}
	if len(tr.Suspicious) != 1 || tr.Suspicious[0].Name != "curl" || strings.Join(tr.Suspicious[0].Indicators, "|") != "download_cradle|pipe_to_shell" || !tr.Pruned {
		t.Errorf("suspicious = %+v", tr.Suspicious)
	}
	if tr.Roots[0].HiddenChildren != 1 {
		t.Errorf("systemd hidden children = %d, want 1 (cron)", tr.Roots[0].HiddenChildren)
	}
	tr = BuildTree(rows, "*", 0)
	if got := names(tr.Roots); got != "? (x(perl sh)) systemd(cron sshd(bash(curl)))" && got != "systemd(cron sshd(bash(curl))) ?(x(perl sh))" {
		// the ghost root is named "?" (the cut) with x below it
		if !strings.Contains(got, "x(perl sh)") || !strings.Contains(got, "systemd(cron sshd(bash(curl)))") {
			t.Errorf("whole tree = %q", got)
		}
	}
	if tr.Pruned || tr.Total != 7 {
		t.Errorf("whole tree: pruned %v total %d", tr.Pruned, tr.Total)
	}
	tr = BuildTree(rows, "20", 0)
	if got := names(tr.Roots); got != "systemd(cron)" || !tr.Roots[0].Children[0].Focus {
		t.Errorf("focus on pid 20 = %q", got)
	}
	tr = BuildTree(rows, "*", 3)
	if !tr.Capped || tr.Shown != 3 {
		t.Errorf("capped: %v %d", tr.Capped, tr.Shown)
	}
	// GUIDs win over pids (a reused pid must not adopt the wrong parent).
	rows = []map[string]string{
		{"pid": "5", "name": "old", "process_guid": "A", "score": "0"},
		{"pid": "6", "parent": "5", "name": "child", "process_guid": "C", "parent_process_guid": "B", "ancestry": "new > child", "ancestor_pids": "5", "score": "0"},
	}
	if got := names(BuildTree(rows, "*", 0).Roots); !strings.Contains(got, "new(child)") || !strings.Contains(got, "old") {
		t.Errorf("guid tree = %q", got)
	}
}
