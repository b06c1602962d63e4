package operatorapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/targeting"
)

func apiQuery(q store.LiveQuery, hosts []store.LiveQueryHost) apiv1.Query {
	out := apiv1.Query{ID: q.ID, SQL: q.SQL, Discovery: q.Discovery, Targets: q.Targets, CreatedBy: q.CreatedBy,
		CreatedAt: q.CreatedAt, Deadline: q.Deadline, State: q.State, Counts: q.Counts}
	if !q.DoneAt.IsZero() {
		d := q.DoneAt
		out.DoneAt = &d
	}
	if out.Counts == nil {
		out.Counts = map[string]int{}
	}
	for _, n := range out.Counts {
		out.Hosts += n
	}
	for _, h := range hosts {
		out.Rows += h.Rows
	}
	return out
}

// resolveTargets returns the IDs of the hosts t selects, as hunts select them
// (orchestrator/targeting). A live query runs now, on the hosts enrolled now, so
// targets that name a host which is not enrolled (an ID, a hostname or host
// identifier) or select no host at all are refused, each naming what matched
// nothing: a typo must not read as "nothing found". (A hunt's targets may name
// hosts that enroll later; they are not resolved here.)
func (a *API) resolveTargets(r *http.Request, t targeting.Targets) ([]int64, error) {
	f := store.HostFilter{}
	if !t.All && len(t.Platforms) == 0 && len(t.Hostnames) == 0 {
		f.IDs = t.HostIDs // only IDs: no need to read the whole fleet
	}
	hs, err := a.c.Hosts.ListHosts(r.Context(), f)
	if err != nil {
		return nil, err
	}
	known := map[int64]bool{}
	names := map[string]bool{}
	m := t.Matcher()
	var ids []int64
	for _, h := range hs {
		known[h.ID] = true
		names[strings.ToLower(h.Hostname)], names[strings.ToLower(h.Identifier)] = true, true
		if m.Matches(targeting.Host{ID: h.ID, Hostname: h.Hostname, Identifier: h.Identifier, Platform: h.Platform}) {
			ids = append(ids, h.ID)
		}
	}
	for _, id := range t.HostIDs {
		if !known[id] {
			return nil, apiv1.Errorf(http.StatusBadRequest, "unknown host id %d in targets", id)
		}
	}
	var unknown []string
	for _, n := range t.Hostnames {
		if n = strings.TrimSpace(n); n != "" && !names[strings.ToLower(n)] {
			unknown = append(unknown, strconv.Quote(n))
		}
	}
	if len(unknown) > 0 {
		return nil, apiv1.Errorf(http.StatusBadRequest, "no enrolled host is named %s (hostname or host identifier)",
			strings.Join(unknown, ", "))
	}
	if len(ids) == 0 {
		return nil, apiv1.Errorf(http.StatusBadRequest, "the targets (%s) select no enrolled host", t.Words())
	}
	slices.Sort(ids)
	return ids, nil
}

func (a *API) createQuery(w http.ResponseWriter, r *http.Request) error {
	var req apiv1.CreateQueryRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return apiv1.Errorf(http.StatusBadRequest, "malformed request: %v", err)
	}
	req.SQL = strings.TrimSpace(req.SQL)
	if req.SQL == "" {
		return apiv1.Errorf(http.StatusBadRequest, "sql is required")
	}
	t := req.Targets
	if t.Empty() {
		return apiv1.Errorf(http.StatusBadRequest, "targets are required (all, host_ids, hostnames or platforms)")
	}
	timeout := a.c.DefaultTimeout
	if req.Timeout != "" {
		d, err := duration("timeout", req.Timeout, "60s")
		if err != nil {
			return err
		}
		timeout = min(d, a.c.MaxTimeout)
	}
	ids, err := a.resolveTargets(r, t)
	if err != nil {
		return err
	}
	targets, _ := json.Marshal(t)
	tok, _ := r.Context().Value(ctxKey{}).(store.Token)
	now := a.c.Now()
	q, err := a.c.Live.CreateLiveQuery(r.Context(), store.LiveQuery{SQL: req.SQL, Discovery: req.Discovery,
		Targets: targets, CreatedBy: tok.Name, Deadline: now.Add(timeout)}, ids, now)
	if err != nil {
		return err
	}
	a.c.Log.Info("live query created", "query_id", q.ID, "by", tok.Name, "hosts", len(ids), "sql", q.SQL)
	if err := a.audit(r, "live_query.create", itoa(q.ID), q.SQL, map[string]any{"targets": t,
		"discovery": req.Discovery, "host_ids": ids, "deadline": q.Deadline}); err != nil {
		// An unaudited query must not run.
		if cerr := a.c.Live.CancelLiveQuery(r.Context(), q.ID, a.c.Now()); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return err
	}
	writeJSON(w, http.StatusCreated, apiQuery(q, nil))
	return nil
}

func (a *API) listQueries(w http.ResponseWriter, r *http.Request) error {
	limit, err := intParam(r, "limit", 50, 1, 1000)
	if err != nil {
		return err
	}
	qs, err := a.c.Live.ListLiveQueries(r.Context(), limit)
	return reply(w, apiv1.Queries{Queries: each(qs, func(q store.LiveQuery) apiv1.Query { return apiQuery(q, nil) })}, err)
}

// hostnames returns the names of the hosts id(0) … id(n-1) names, by ID (IDs
// may repeat; none is read when n is 0).
func (a *API) hostnames(r *http.Request, n int, id func(int) int64) (map[int64]string, error) {
	m := map[int64]string{}
	seen := make(map[int64]bool, n)
	var ids []int64
	for i := range n {
		if h := id(i); !seen[h] {
			seen[h] = true
			ids = append(ids, h)
		}
	}
	if len(ids) == 0 {
		return m, nil
	}
	hs, err := a.c.Hosts.ListHosts(r.Context(), store.HostFilter{IDs: ids})
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		m[h.ID] = h.Hostname
	}
	return m, nil
}

func (a *API) detail(r *http.Request, id int64) (apiv1.QueryDetail, map[int64]string, error) {
	q, err := a.c.Live.LiveQuery(r.Context(), id)
	if err != nil {
		return apiv1.QueryDetail{}, nil, err
	}
	hs, err := a.c.Live.LiveQueryHosts(r.Context(), id)
	if err != nil {
		return apiv1.QueryDetail{}, nil, err
	}
	names, err := a.hostnames(r, len(hs), func(i int) int64 { return hs[i].HostID })
	if err != nil {
		return apiv1.QueryDetail{}, nil, err
	}
	d := apiv1.QueryDetail{Query: apiQuery(q, hs),
		Hosts: each(hs, func(h store.LiveQueryHost) apiv1.HostState { return hostState(h, names) })}
	return d, names, nil
}

func hostState(h store.LiveQueryHost, names map[int64]string) apiv1.HostState {
	return apiv1.HostState{HostID: h.HostID, Hostname: names[h.HostID], State: h.State, Final: store.TerminalHostState(h.State),
		Rows: h.Rows, Status: h.Status, Message: h.Message, Stats: h.Stats}
}

func (a *API) getQuery(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, _, err := a.detail(r, id)
	return reply(w, d, err)
}

func (a *API) queryRows(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	_, names, err := a.detail(r, id)
	if err != nil {
		return err
	}
	rows, err := a.c.Live.LiveQueryRows(r.Context(), id, 0)
	return reply(w, apiv1.Rows{Rows: each(rows, func(rw store.Row) apiv1.Row {
		return apiv1.Row{HostID: rw.HostID, Hostname: names[rw.HostID], Columns: rw.Columns}
	})}, err)
}

func (a *API) cancelQuery(w http.ResponseWriter, r *http.Request) error {
	id, err := a.changeByID(r, "live_query.cancel", func(ctx context.Context, id int64) error {
		return a.c.Live.CancelLiveQuery(ctx, id, a.c.Now())
	})
	if err != nil {
		return err
	}
	a.c.Changes.Notify()
	d, _, err := a.detail(r, id)
	return reply(w, d.Query, err)
}

// streamQuery sends the query's progress as server-sent events: "query" first,
// then "host" on every state change and "row" for each row of a host that
// answered, and a final "summary" (the Query) when the query is done, cancelled or
// past its deadline. Rows of a host are sent before its "host" event.
func (a *API) streamQuery(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	d, names, err := a.detail(r, id)
	if err != nil {
		return err
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		return apiv1.Errorf(http.StatusInternalServerError, "streaming unsupported")
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		return err
	}
	if err := send("query", d.Query); err != nil {
		return nil
	}
	fl.Flush()
	sent := map[int64]string{}
	poll := time.NewTicker(a.c.Poll)
	defer poll.Stop()
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	for {
		wake := a.c.Changes.Wait()
		hs, err := a.c.Live.LiveQueryHosts(ctx, id)
		if err != nil {
			return nil // the stream is already open; the client sees it end without a summary
		}
		for _, h := range hs {
			if sent[h.HostID] == h.State {
				continue
			}
			if h.State == store.HostOK {
				rows, err := a.c.Live.LiveQueryRows(ctx, id, h.HostID)
				if err != nil {
					return nil
				}
				for _, rw := range rows {
					if err := send("row", apiv1.Row{HostID: h.HostID, Hostname: names[h.HostID], Columns: rw.Columns}); err != nil {
						return nil
					}
				}
			}
			if err := send("host", hostState(h, names)); err != nil {
				return nil
			}
			sent[h.HostID] = h.State
		}
		fl.Flush()
		q, err := a.c.Live.LiveQuery(ctx, id)
		if err != nil {
			return nil
		}
		if q.State != store.QueryRunning {
			// One more pass if the final states are newer than what we sent.
			final := true
			for _, h := range hs {
				if !store.TerminalHostState(h.State) {
					final = false
				}
			}
			if final || len(hs) == 0 {
				send("summary", apiQuery(q, hs))
				fl.Flush()
				return nil
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
			// Coalesce bursts of answers into one store read.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(50 * time.Millisecond):
			}
		case <-poll.C:
		case <-heartbeat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}
