package agentsim

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestScheduleRunsPushedPacks checks that a config's packs become the schedule with
// osquery's result names, that a differential query sends the rows added and
// removed since its last run (nothing when nothing changed), that a snapshot query
// sends all its rows each time, and that a pack whose discovery query returns no
// rows does not run.
func TestScheduleRunsPushedPacks(t *testing.T) {
	rows := []map[string]string{{"name": "a"}, {"name": "b"}}
	a := New(Config{Host: Host{Hostname: "h", UUID: "U"}, RunSchedule: true,
		Runner: RunnerFunc(func(_ context.Context, sql string) ([]map[string]string, error) {
			if sql == "SELECT 1 WHERE 0" {
				return nil, nil
			}
			return rows, nil
		})})
	now := time.Unix(1_700_000_000, 0)
	a.setSchedule(map[string]any{
		"options": map[string]any{"pack_delimiter": "_"},
		"packs": map[string]any{
			"p": map[string]any{"queries": map[string]any{
				"diff": map[string]any{"query": "SELECT name FROM t", "interval": float64(60)},
				"snap": map[string]any{"query": "SELECT name FROM t", "interval": float64(60), "snapshot": true},
			}},
			"gated": map[string]any{"discovery": []any{"SELECT 1 WHERE 0"},
				"queries": map[string]any{"q": map[string]any{"query": "SELECT name FROM t", "interval": float64(60)}}},
		},
	}, now)
	summary := func(lines []map[string]any) []string {
		var out []string
		for _, l := range lines {
			s := l["name"].(string) + " " + l["action"].(string)
			if c, ok := l["columns"].(map[string]string); ok {
				s += " " + c["name"]
			}
			if snap, ok := l["snapshot"].([]map[string]string); ok {
				s += " " + string(rune('0'+len(snap)))
			}
			out = append(out, s)
		}
		return out
	}
	ctx := context.Background()
	if got, want := summary(a.runSchedule(ctx, now)), []string{"pack_p_diff added a", "pack_p_diff added b", "pack_p_snap snapshot 2"}; !slices.Equal(got, want) {
		t.Errorf("first run = %q, want %q", got, want)
	}
	if got := a.runSchedule(ctx, now.Add(30*time.Second)); len(got) != 0 {
		t.Errorf("before the interval: %q", summary(got))
	}
	if got, want := summary(a.runSchedule(ctx, now.Add(time.Minute))), []string{"pack_p_snap snapshot 2"}; !slices.Equal(got, want) {
		t.Errorf("unchanged rows = %q, want %q", got, want)
	}
	rows = []map[string]string{{"name": "b"}, {"name": "c"}}
	if got, want := summary(a.runSchedule(ctx, now.Add(2*time.Minute))), []string{"pack_p_diff added c", "pack_p_diff removed a", "pack_p_snap snapshot 2"}; !slices.Equal(got, want) {
		t.Errorf("changed rows = %q, want %q", got, want)
	}
}
