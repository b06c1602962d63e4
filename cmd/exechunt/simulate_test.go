package main

import (
	"context"
	"testing"
	"time"

	"github.com/exechunt/exechunt/offline/simulate"
	"github.com/exechunt/exechunt/offline/simulate/agentsim"
	"github.com/exechunt/exechunt/orchestrator/hunts"
)

// TestSimulateReplaysHuntWindows checks the contract between the hunts' time
// window (hunts.Window) and the simulator that reads it (simulate.Replayed): a
// window holding the moment the evidence is replayed gets the inner query's rows,
// any other window none, and a query without a window runs as it is.
func TestSimulateReplaysHuntWindows(t *testing.T) {
	ctx := context.Background()
	var ran []string
	inner := agentsim.RunnerFunc(func(_ context.Context, sql string) ([]map[string]string, error) {
		ran = append(ran, sql)
		return []map[string]string{{"name": "cmd.exe"}}, nil
	})
	at := time.Unix(1_700_000_000, 0)
	r := simulate.Replayed(inner, at)
	q := "SELECT time, name FROM process_creation_events WHERE score >= 50"
	for _, c := range []struct {
		from, to time.Time
		rows     int
	}{
		{at.Add(-time.Hour), at.Add(time.Minute), 1},
		{at.Add(-time.Hour), at, 1},
		{at, at.Add(time.Hour), 0},                      // the next run: already reported
		{at.Add(-2 * time.Hour), at.Add(-time.Hour), 0}, // before the replay
	} {
		ran = nil
		rows, err := r.Run(ctx, hunts.Window(q+";", c.from, c.to))
		if err != nil || len(rows) != c.rows || len(ran) != 1 || ran[0] != q {
			t.Errorf("window (%v, %v]: %d rows (want %d), %v; ran %q", c.from, c.to, len(rows), c.rows, err, ran)
		}
	}
	ran = nil
	if rows, err := r.Run(ctx, q); err != nil || len(rows) != 1 || len(ran) != 1 || ran[0] != q {
		t.Errorf("a query without a window: %v, %v; ran %q", rows, err, ran)
	}
}
