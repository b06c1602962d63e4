package agentsim

import (
	"fmt"
	"time"
)

// EventLines returns result lines in osquery's event format built from rows (for
// example real process creations of a corpus file): one "added" line per row,
// as a pack query's differential results.
func EventLines(name string, rows []map[string]string) func(h Host, counter int) []map[string]any {
	return func(h Host, counter int) []map[string]any {
		now := time.Now().UTC()
		out := make([]map[string]any, 0, len(rows))
		for _, r := range rows {
			out = append(out, eventLine(name, h, counter, now, r, "added"))
		}
		return out
	}
}

// eventLine is one event-format result line: a row added or removed.
func eventLine(name string, h Host, counter int, now time.Time, row map[string]string, action string) map[string]any {
	l := resultLine(name, h, counter, now)
	l["columns"], l["action"] = row, action
	return l
}

// resultLine is the part of a result line every format shares, with the
// decorations of the orchestrator's default config (host_uuid, hostname).
func resultLine(name string, h Host, counter int, now time.Time) map[string]any {
	now = now.UTC()
	return map[string]any{
		"name": name, "hostIdentifier": h.UUID,
		"calendarTime": now.Format("Mon Jan _2 15:04:05 2006") + " UTC", "unixTime": now.Unix(),
		"epoch": 0, "counter": counter, "numerics": false,
		"decorations": map[string]string{"host_uuid": h.UUID, "hostname": h.Hostname},
	}
}

// SyntheticRows returns n process-creation-like rows (for load tests without a
// corpus).
func SyntheticRows(n int) []map[string]string {
	rows := make([]map[string]string, n)
	for i := range rows {
		rows[i] = map[string]string{"pid": fmt.Sprint(4000 + i), "parent_name": "explorer.exe", "name": "cmd.exe",
			"cmdline": fmt.Sprintf(`cmd.exe /c echo %d`, i), "score": "10", "indicators": ""}
	}
	return rows
}
