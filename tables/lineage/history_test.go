package lineage

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitingHistory is a History that waits for its sources until ctx ends, as the
// event tables' Store does while a read of the sources is in flight.
type waitingHistory struct{ asked chan struct{} }

func (h waitingHistory) Lookup(ctx context.Context, _ int64, _ time.Time) (Proc, bool, error) {
	select {
	case h.asked <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return Proc{}, false, ctx.Err()
}

// TestCancelledQueryStopsWaitingForHistory: a query whose context ends while
// History waits returns the context's error (for listings and `pid =` alike).
func TestCancelledQueryStopsWaitingForHistory(t *testing.T) {
	src := newFake(proc(1, 0, "init", 0), proc(10, 1, "sh", 5))
	for name, q := range map[string]map[string]string{"list": nil, "pid": {"pid": "10"}} {
		h := waitingHistory{asked: make(chan struct{}, 1)}
		tbl := New(Options{Source: src, History: h})
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-h.asked
			cancel()
		}()
		var eqs []string
		for k, v := range q {
			eqs = append(eqs, k, v)
		}
		rows, err := tbl.Generate(ctx, qc(eqs...))
		if !errors.Is(err, context.Canceled) || rows != nil {
			t.Errorf("%s: %d rows, %v; want context.Canceled", name, len(rows), err)
		}
		cancel()
	}
}
