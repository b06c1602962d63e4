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

func (i *instrumented) Ping(ctx context.Context) error {
	t := time.Now()
	err := i.Store.Ping(ctx)
	i.m.ObserveStore("Ping", t, err)
	return err
}

func (i *instrumented) EnrollHost(ctx context.Context, e store.Enrollment, now time.Time) (store.Host, error) {
	t := time.Now()
	h, err := i.Store.EnrollHost(ctx, e, now)
	i.m.ObserveStore("EnrollHost", t, err)
	return h, err
}

func (i *instrumented) HostByNodeKey(ctx context.Context, nodeKeyHash []byte) (store.Host, error) {
	t := time.Now()
	h, err := i.Store.HostByNodeKey(ctx, nodeKeyHash)
	i.m.ObserveStore("HostByNodeKey", t, err)
	return h, err
}

func (i *instrumented) ListHosts(ctx context.Context, f store.HostFilter) ([]store.Host, error) {
	t := time.Now()
	hs, err := i.Store.ListHosts(ctx, f)
	i.m.ObserveStore("ListHosts", t, err)
	return hs, err
}

func (i *instrumented) TouchHosts(ctx context.Context, seen map[int64]time.Time) error {
	t := time.Now()
	err := i.Store.TouchHosts(ctx, seen)
	i.m.ObserveStore("TouchHosts", t, err)
	return err
}

func (i *instrumented) EnrollSecrets(ctx context.Context) ([]store.EnrollSecret, error) {
	t := time.Now()
	s, err := i.Store.EnrollSecrets(ctx)
	i.m.ObserveStore("EnrollSecrets", t, err)
	return s, err
}

func (i *instrumented) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	t := time.Now()
	tok, err := i.Store.TokenByHash(ctx, hash)
	i.m.ObserveStore("TokenByHash", t, err)
	return tok, err
}

func (i *instrumented) CreateLiveQuery(ctx context.Context, q store.LiveQuery, hostIDs []int64, now time.Time) (store.LiveQuery, error) {
	t := time.Now()
	lq, err := i.Store.CreateLiveQuery(ctx, q, hostIDs, now)
	i.m.ObserveStore("CreateLiveQuery", t, err)
	return lq, err
}

func (i *instrumented) TakePendingQueries(ctx context.Context, hostID int64, now time.Time) ([]store.PendingQuery, error) {
	t := time.Now()
	qs, err := i.Store.TakePendingQueries(ctx, hostID, now)
	i.m.ObserveStore("TakePendingQueries", t, err)
	return qs, err
}

func (i *instrumented) RecordResults(ctx context.Context, hostID int64, results []store.HostResult, now time.Time) ([]int64, error) {
	t := time.Now()
	ids, err := i.Store.RecordResults(ctx, hostID, results, now)
	i.m.ObserveStore("RecordResults", t, err)
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
	t := time.Now()
	ids, err := i.Store.FinishLiveQueries(ctx, now)
	i.m.ObserveStore("FinishLiveQueries", t, err)
	return ids, err
}

func (i *instrumented) RunningLiveQueries(ctx context.Context) (int, error) {
	t := time.Now()
	n, err := i.Store.RunningLiveQueries(ctx)
	i.m.ObserveStore("RunningLiveQueries", t, err)
	return n, err
}

func (i *instrumented) InsertResults(ctx context.Context, rows []store.ResultRow) (int, error) {
	t := time.Now()
	n, err := i.Store.InsertResults(ctx, rows)
	i.m.ObserveStore("InsertResults", t, err)
	if err == nil {
		i.m.Ingested(KindResult, n)
	}
	return n, err
}

func (i *instrumented) InsertStatusLogs(ctx context.Context, logs []store.StatusLog) (int, error) {
	t := time.Now()
	n, err := i.Store.InsertStatusLogs(ctx, logs)
	i.m.ObserveStore("InsertStatusLogs", t, err)
	if err == nil {
		i.m.Ingested(KindStatus, n)
	}
	return n, err
}

func (i *instrumented) StartHuntRun(ctx context.Context, r store.HuntRun, now time.Time) (store.HuntRun, error) {
	t := time.Now()
	run, err := i.Store.StartHuntRun(ctx, r, now)
	i.m.ObserveStore("StartHuntRun", t, err)
	return run, err
}

func (i *instrumented) FinishHuntRun(ctx context.Context, id int64, state, message string, now time.Time) (store.HuntRun, error) {
	t := time.Now()
	run, err := i.Store.FinishHuntRun(ctx, id, state, message, now)
	i.m.ObserveStore("FinishHuntRun", t, err)
	if err == nil {
		i.m.HuntRun(state)
	}
	return run, err
}
