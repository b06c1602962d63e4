package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTermSafe(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"win-1", "win-1"},
		{"Ünïcode ok", "Ünïcode ok"},
		{"\x1b[2J\x1b]0;pwned\x07", `\x1b[2J\x1b]0;pwned\x07`},
		{"\x1b]52;c;Y2FsYw==\x07", `\x1b]52;c;Y2FsYw==\x07`},
		{"a\tb\nc\rd", `a\x09b\x0ac\x0dd`},
		{"\u009b31m", `\u009b31m`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"\x7f", `\x7f`},
	} {
		if got := termSafe(tc.in); got != tc.want {
			t.Errorf("termSafe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCSVIsFormulaSafe: command lines are written to CSV so that a spreadsheet
// shows them instead of running them (sql --format csv wrote them raw).
func TestCSVIsFormulaSafe(t *testing.T) {
	dir := t.TempDir()
	ev := `{"@timestamp": "2024-03-01T09:59:00Z", "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "computer_name": "WS1", "event_id": 1, "provider_name": "Microsoft-Windows-Sysmon", "record_id": 1, "event_data": {"ProcessGuid": "{00000000-0000-0000-0000-00000000000a}", "ProcessId": "100", "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "=cmd|' /C calc'!A0", "ParentProcessId": "90", "ParentImage": "C:\\Windows\\explorer.exe", "User": "CORP\\alice"}}}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "e.jsonl"), []byte(ev), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLIErr(t, "sql", "--evidence", dir, "--format", "csv", "SELECT cmdline FROM process_creation_events")
	if code != 0 || !strings.Contains(out, `'=cmd|`) || strings.Contains(strings.ReplaceAll(out, `'=cmd`, ""), "=cmd") {
		t.Errorf("sql --format csv: exit %d\n%s\n%s", code, out, stderr)
	}
}
