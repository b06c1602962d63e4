//go:build !windows

package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/exechunt/exechunt/extension/osquerytest"
	"github.com/exechunt/exechunt/internal/corpus"
)

// TestEventTablesOverCorpus serves the real corpus through the built extension and
// the real Thrift protocol: process_creation_events and powershell_script_blocks,
// with push-down constraints as osquery core sends them.
func TestEventTablesOverCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the extension binary")
	}
	dir, ok := corpus.Dir()
	if !ok {
		t.Skip(corpus.SkipMessage)
	}
	h, ctx := startHarness(t)
	startExtensionWithConfig(t, h, fmt.Sprintf("sources:\n  - path: %q\n", dir))
	if _, err := h.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := h.Generate(ctx, "process_creation_events")
	if err != nil {
		t.Fatal(err)
	}
	bySource := map[string]int{}
	var launcher map[string]string
	for _, r := range rows {
		bySource[r["source"]]++
		if strings.Contains(r["evidence"], "empire_launcher_vbs") && r["source"] == "sysmon" && r["name"] == "powershell.exe" {
			launcher = r
		}
	}
	// MANIFEST.md per-file counts, each event once (see the eventtables corpus test).
	if bySource["sysmon"] != 563 || bySource["security"] != 279 || bySource["sysmon_linux"] != 31 {
		t.Errorf("rows by source = %v", bySource)
	}
	if launcher == nil || launcher["ancestry"] != "? > explorer.exe > wscript.exe > powershell.exe" || launcher["score"] != "100" {
		t.Fatalf("Empire launcher row = %v", launcher)
	}
	// Push-down as osquery sends it: pid = N and process_guid = '…'.
	one, err := h.Generate(ctx, "process_creation_events",
		osquerytest.Eq("process_guid", launcher["process_guid"]), osquerytest.Eq("pid", launcher["pid"]))
	if err != nil || len(one) != 1 || one[0]["cmdline"] != launcher["cmdline"] {
		t.Errorf("process_guid/pid push-down: %d rows, %v", len(one), err)
	}
	blocks, err := h.Generate(ctx, "powershell_script_blocks", osquerytest.Eq("script_block_id", "79679dd8-9485-473f-bd2e-c321de81167c"))
	if err != nil || len(blocks) != 1 {
		t.Fatalf("script block: %d rows, %v", len(blocks), err)
	}
	if b := blocks[0]; b["complete"] != "1" || b["parts_seen"] != "4" || b["event_record_ids"] != "41802,41803,41804,41805" || len(b["script_text"]) < 60000 {
		t.Errorf("Covenant 4-part block: complete %s parts %s ids %s len %d", b["complete"], b["parts_seen"], b["event_record_ids"], len(b["script_text"]))
	}
}
