package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

func enqueue(t *testing.T, s store.Store, dest string, keys ...string) int {
	t.Helper()
	var items []store.OutboxItem
	for i, k := range keys {
		items = append(items, store.OutboxItem{Destination: dest, Key: k, Payload: []byte(`{"k":"` + k + `"}`),
			Created: t0.Add(time.Duration(i) * time.Second)})
	}
	n, err := s.Enqueue(context.Background(), items)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return n
}

func next(t *testing.T, s store.Store, dest string, now time.Time, limit int) ([]string, []int64) {
	t.Helper()
	items, err := s.NextOutbox(context.Background(), dest, now, limit)
	if err != nil {
		t.Fatalf("NextOutbox: %v", err)
	}
	var keys []string
	var ids []int64
	for _, it := range items {
		if it.State != store.OutboxQueued || string(it.Payload) != `{"k":"`+it.Key+`"}` {
			t.Fatalf("item %+v: want queued with its payload", it)
		}
		keys, ids = append(keys, it.Key), append(ids, it.ID)
	}
	return keys, ids
}

func stats(t *testing.T, s store.Store) map[string]store.OutboxStats {
	t.Helper()
	list, err := s.OutboxStats(context.Background())
	if err != nil {
		t.Fatalf("OutboxStats: %v", err)
	}
	m := map[string]store.OutboxStats{}
	for _, st := range list {
		m[st.Destination] = st
	}
	return m
}

// testOutbox: idempotent enqueue, per-destination order, delivery, retries
// holding the queue's head, dead-lettering, stats and pruning.
func testOutbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	if n := enqueue(t, s, "hook", "a", "b", "c"); n != 3 {
		t.Fatalf("Enqueue = %d new, want 3", n)
	}
	if n := enqueue(t, s, "hook", "b", "d"); n != 1 {
		t.Fatalf("Enqueue of a known key = %d new, want 1 (d)", n)
	}
	enqueue(t, s, "file", "x")
	keys, ids := next(t, s, "hook", t0, 2)
	if fmt.Sprint(keys) != "[a b]" {
		t.Fatalf("NextOutbox(hook) = %v, want [a b]", keys)
	}
	// A failed try holds the head (and the batch) back until its next attempt.
	retry := t0.Add(time.Minute)
	if err := s.MarkFailed(ctx, ids, "503 Service Unavailable", retry, 3); err != nil {
		t.Fatal(err)
	}
	if keys, _ := next(t, s, "hook", retry.Add(-time.Microsecond), 10); keys != nil {
		t.Fatalf("NextOutbox before the retry time = %v, want none", keys)
	}
	if keys, _ := next(t, s, "file", t0, 10); fmt.Sprint(keys) != "[x]" {
		t.Fatalf("another destination is held back by hook's failure: %v", keys)
	}
	st := stats(t, s)["hook"]
	if st.Queued != 4 || st.Retrying != 2 || st.Delivered != 0 || st.Dead != 0 || !st.OldestQueued.Equal(t0) {
		t.Fatalf("stats after a failure = %+v", st)
	}
	items, err := s.NextOutbox(ctx, "hook", retry, 1)
	if err != nil || len(items) != 1 || items[0].Attempts != 1 || items[0].LastError != "503 Service Unavailable" ||
		!items[0].NextAttempt.Equal(retry) {
		t.Fatalf("NextOutbox at the retry time = %+v, %v", items, err)
	}
	// Delivered: the queue moves on, in order.
	if err := s.MarkDelivered(ctx, []int64{items[0].ID}, retry); err != nil {
		t.Fatal(err)
	}
	keys, ids = next(t, s, "hook", retry, 10)
	if fmt.Sprint(keys) != "[b c d]" {
		t.Fatalf("NextOutbox after delivering a = %v, want [b c d]", keys)
	}
	// Dead-lettered after maxAttempts failed tries; the next item becomes the head.
	if err := s.MarkFailed(ctx, ids[:1], "again", retry.Add(time.Minute), 2); err != nil {
		t.Fatal(err)
	}
	if keys, _ := next(t, s, "hook", retry.Add(time.Hour), 10); fmt.Sprint(keys) != "[c d]" {
		t.Fatalf("NextOutbox after b's last try = %v, want [c d]", keys)
	}
	st = stats(t, s)["hook"]
	if st.Queued != 2 || st.Retrying != 0 || st.Delivered != 1 || st.Dead != 1 || !st.OldestQueued.Equal(t0.Add(time.Second)) {
		t.Fatalf("stats = %+v, want 2 queued, 1 delivered, 1 dead, oldest d (created 1s in)", st)
	}
	// A dead or delivered item is not queued again by the same key.
	if n := enqueue(t, s, "hook", "a", "b"); n != 0 {
		t.Fatalf("Enqueue of delivered and dead keys = %d new, want 0", n)
	}
	// Marking items no longer queued changes nothing.
	if err := s.MarkFailed(ctx, []int64{items[0].ID}, "late", retry, 1); err != nil {
		t.Fatal(err)
	}
	if st := stats(t, s)["hook"]; st.Delivered != 1 || st.Dead != 1 {
		t.Fatalf("a delivered item was failed afterwards: %+v", st)
	}
	// Pruning removes delivered and dead items only.
	n, err := s.PruneOutbox(ctx, t0.Add(time.Hour), 100)
	if err != nil || n != 2 {
		t.Fatalf("PruneOutbox = %d, %v; want 2", n, err)
	}
	if st := stats(t, s)["hook"]; st.Queued != 2 || st.Delivered != 0 || st.Dead != 0 {
		t.Fatalf("stats after pruning = %+v", st)
	}
	if _, err := s.Enqueue(ctx, []store.OutboxItem{{Destination: "hook"}}); err == nil {
		t.Fatal("Enqueue without a key succeeded")
	}
}
