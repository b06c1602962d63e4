package main

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exechunt/exechunt/extension/osquerytest"
)

// TestLineageEndToEnd spawns a known tree and reads it back through the real
// extension and Thrift protocol, first by name, then with the pid = N push-down.
func TestLineageEndToEnd(t *testing.T) {
	h, ctx := startHarness(t)
	startExtension(t, h)
	if _, err := h.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	tree := exec.Command("bash", "-c", `sh -c "sleep 31; true"; true`)
	if err := tree.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Process.Kill(); tree.Wait() })
	bash := strconv.Itoa(tree.Process.Pid)

	var sleep map[string]string
	for deadline := time.Now().Add(5 * time.Second); sleep == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		rows, err := h.Generate(ctx, "process_lineage", osquerytest.Eq("name", "sleep"))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if strings.Contains(","+r["ancestor_pids"]+",", ","+bash+",") {
				sleep = r
			}
		}
	}
	if sleep == nil {
		t.Fatal("the spawned sleep was not found by name")
	}
	rows, err := h.Generate(ctx, "process_lineage", osquerytest.Eq("pid", sleep["pid"]))
	if err != nil || len(rows) != 1 {
		t.Fatalf("pid = %s: %d rows, %v", sleep["pid"], len(rows), err)
	}
	r := rows[0]
	// Names are the executables' file names: sh is whatever /bin/sh resolves to (dash, bash).
	parents, err := h.Generate(ctx, "process_lineage", osquerytest.Eq("pid", r["parent"]))
	if err != nil || len(parents) != 1 {
		t.Fatalf("pid = %s (sh): %d rows, %v", r["parent"], len(parents), err)
	}
	path := parents[0]["path"]
	sh := path[strings.LastIndexByte(path, '/')+1:]
	if !strings.HasSuffix(r["ancestry"], "bash > "+sh+" > sleep") || r["cmdline"] != "sleep 31" || r["parent_name"] != sh {
		t.Errorf("row = ancestry %q cmdline %q parent %q", r["ancestry"], r["cmdline"], r["parent_name"])
	}
}
