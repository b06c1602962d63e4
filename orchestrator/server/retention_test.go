package server_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/metrics"
	"github.com/exechunt/exechunt/orchestrator/server"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlite"
)

// TestRetention: result rows and status logs older than the retention are
// deleted (in batches), newer ones kept, and the deletions counted in
// exechunt_rows_pruned_total (nothing was ever deleted: one host could fill the disk).
func TestRetention(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "exechunt.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	h, err := st.EnrollHost(ctx, store.Enrollment{Host: store.Host{Identifier: "h", Hostname: "h", UUID: "U"}, NodeKeyHash: []byte("k")}, now)
	if err != nil {
		t.Fatal(err)
	}
	var rows []store.ResultRow
	for i := range 12_000 { // more than a batch
		at := now.Add(-48 * time.Hour)
		if i%4 == 0 {
			at = now.Add(-time.Hour)
		}
		rows = append(rows, store.ResultRow{ID: fmt.Sprintf("r%05d", i), HostID: h.ID, Name: "q", Action: store.ActionAdded,
			UnixTime: 1785931200, Columns: map[string]string{"i": fmt.Sprint(i)}, ReceivedAt: at})
	}
	if _, err := st.InsertResults(ctx, rows); err != nil {
		t.Fatal(err)
	}
	// Forwarded items: an old delivered one goes, an old queued one and a recent
	// delivered one stay.
	var items []store.OutboxItem
	for i, at := range []time.Time{now.Add(-48 * time.Hour), now.Add(-47 * time.Hour), now.Add(-time.Hour)} {
		items = append(items, store.OutboxItem{Destination: "d", Key: fmt.Sprint(i), Payload: []byte("{}"), Created: at})
	}
	if _, err := st.Enqueue(ctx, items); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkDelivered(ctx, []int64{1, 3}, now); err != nil {
		t.Fatal(err)
	}
	m := metrics.New("test")
	srv, err := server.New(server.Config{Store: st, Metrics: m, Now: func() time.Time { return now }, Retention: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	n, err := srv.Prune(ctx)
	if err != nil || n != 9000 {
		t.Fatalf("Prune = %d, %v; want 9000", n, err)
	}
	if os, err := st.OutboxStats(ctx); err != nil || len(os) != 1 || os[0].Queued != 1 || os[0].Delivered != 1 {
		t.Errorf("outbox after pruning: %+v, %v; want the old queued item and the recent delivered one", os, err)
	}
	left, err := st.Results(ctx, store.ResultFilter{HostID: h.ID, Limit: 100_000})
	if err != nil || len(left) != 3000 {
		t.Errorf("%d rows left, %v; want the 3000 of the last day", len(left), err)
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "exechunt_rows_pruned_total" {
			got = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if got != 9000 {
		t.Errorf("exechunt_rows_pruned_total = %v, want 9000", got)
	}
}
