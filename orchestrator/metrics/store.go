package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// Store wraps s so that its busy operations (the agent API's, the background
// loops', token checks, host listing, live query creation, hunt runs) are timed
// in exechunt_store_operation_duration_seconds (label operation: the method
// name), the rows agents send are counted in exechunt_results_ingested_total and
// finished hunt runs in exechunt_hunt_runs_total. Every other method is s's own,
// untimed.
func (m *Metrics) Store(s store.Store) store.Store { return &instrumented{Store: s, m: m} }

type instrumented struct {
	store.Store
	m *Metrics
}

// timed runs one store operation and observes its duration and outcome under
// the method's name.
func timed[T any](i *instrumented, op string, f func() (T, error)) (T, error) {
	t := time.Now()
	v, err := f()
	i.m.ObserveStore(op, t, err)
	return v, err
}

func (i *instrumented) Ping(ctx context.Context) error {
	_, err := timed(i, "Ping", func() (struct{}, error) { return struct{}{}, i.Store.Ping(ctx) })
	return err
}

func (i *instrumented) EnrollHost(ctx context.Context, e store.Enrollment, now time.Time) (store.Host, error) {
	return timed(i, "EnrollHost", func() (store.Host, error) { return i.Store.EnrollHost(ctx, e, now) })
}

func (i *instrumented) HostByNodeKey(ctx context.Context, nodeKeyHash []byte) (store.Host, error) {
	return timed(i, "HostByNodeKey", func() (store.Host, error) { return i.Store.HostByNodeKey(ctx, nodeKeyHash) })
}

func (i *instrumented) ListHosts(ctx context.Context, f store.HostFilter) ([]store.Host, error) {
	return timed(i, "ListHosts", func() ([]store.Host, error) { return i.Store.ListHosts(ctx, f) })
}

func (i *instrumented) TouchHosts(ctx context.Context, seen map[int64]time.Time) error {
	_, err := timed(i, "TouchHosts", func() (struct{}, error) { return struct{}{}, i.Store.TouchHosts(ctx, seen) })
	return err
}

func (i *instrumented) EnrollSecrets(ctx context.Context) ([]store.EnrollSecret, error) {
	return timed(i, "EnrollSecrets", func() ([]store.EnrollSecret, error) { return i.Store.EnrollSecrets(ctx) })
}

func (i *instrumented) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	return timed(i, "TokenByHash", func() (store.Token, error) { return i.Store.TokenByHash(ctx, hash) })
}

func (i *instrumented) CreateLiveQuery(ctx context.Context, q store.LiveQuery, hostIDs []int64, now time.Time) (store.LiveQuery, error) {
	return timed(i, "CreateLiveQuery", func() (store.LiveQuery, error) { return i.Store.CreateLiveQuery(ctx, q, hostIDs, now) })
}

func (i *instrumented) TakePendingQueries(ctx context.Context, hostID int64, now time.Time) ([]store.PendingQuery, error) {
	return timed(i, "TakePendingQueries", func() ([]store.PendingQuery, error) { return i.Store.TakePendingQueries(ctx, hostID, now) })
}

func (i *instrumented) RecordResults(ctx context.Context, hostID int64, results []store.HostResult, now time.Time) ([]int64, error) {
	ids, err := timed(i, "RecordResults", func() ([]int64, error) { return i.Store.RecordResults(ctx, hostID, results, now) })
	if err == nil {
		n := 0
		for _, r := range results {
			n += len(r.Rows)
		}
		i.m.Ingested(KindLive, n)
	}
	return ids, err
}

func (i *instrumented) FinishLiveQueries(ctx context.Context, now time.Time) ([]int64, error) {
	return timed(i, "FinishLiveQueries", func() ([]int64, error) { return i.Store.FinishLiveQueries(ctx, now) })
}

func (i *instrumented) RunningLiveQueries(ctx context.Context) (int, error) {
	return timed(i, "RunningLiveQueries", func() (int, error) { return i.Store.RunningLiveQueries(ctx) })
}

func (i *instrumented) InsertResults(ctx context.Context, rows []store.ResultRow) (int, error) {
	n, err := timed(i, "InsertResults", func() (int, error) { return i.Store.InsertResults(ctx, rows) })
	if err == nil {
		i.m.Ingested(KindResult, n)
	}
	return n, err
}

func (i *instrumented) InsertStatusLogs(ctx context.Context, logs []store.StatusLog) (int, error) {
	n, err := timed(i, "InsertStatusLogs", func() (int, error) { return i.Store.InsertStatusLogs(ctx, logs) })
	if err == nil {
		i.m.Ingested(KindStatus, n)
	}
	return n, err
}

func (i *instrumented) StartHuntRun(ctx context.Context, r store.HuntRun, now time.Time) (store.HuntRun, error) {
	return timed(i, "StartHuntRun", func() (store.HuntRun, error) { return i.Store.StartHuntRun(ctx, r, now) })
}

func (i *instrumented) FinishHuntRun(ctx context.Context, id int64, state, message string, now time.Time) (store.HuntRun, error) {
	run, err := timed(i, "FinishHuntRun", func() (store.HuntRun, error) { return i.Store.FinishHuntRun(ctx, id, state, message, now) })
	if err == nil {
		i.m.HuntRun(state)
	}
	return run, err
}
