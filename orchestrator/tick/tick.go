// Package tick runs a step on a ticker until a context ends: the loops of the
// orchestrator's background work and of simulate's progress line.
package tick

import (
	"context"
	"time"
)

// Every calls step every d until ctx ends (not at once: a loop that steps at
// start calls step first itself).
func Every(ctx context.Context, d time.Duration, step func(ctx context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			step(ctx)
		}
	}
}
