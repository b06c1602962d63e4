package operatorapi

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/hunts"
	"github.com/exechunt/exechunt/orchestrator/scheduler"
	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/targeting"
)

// HuntService is what the hunt routes need (hunts.Service).
type HuntService interface {
	List(ctx context.Context, next int) ([]hunts.Info, error)
	Get(ctx context.Context, name string, next int) (hunts.Info, error)
	Create(ctx context.Context, h store.Hunt) (store.Hunt, error)
	Update(ctx context.Context, name string, h store.Hunt) (store.Hunt, error)
	Delete(ctx context.Context, name string) error
	RunNow(ctx context.Context, name, by string) (store.HuntRun, error)
	Runs(ctx context.Context, name string, limit int) ([]store.HuntRun, error)
	RunDetail(ctx context.Context, id int64) (hunts.RunDetail, error)
	RunRows(ctx context.Context, id int64, f store.RunRowFilter) ([]store.HuntRow, error)
	PushResults(ctx context.Context, name, query string, since time.Time, limit int) ([]hunts.PushRow, error)
}

// registerHunts adds the hunt routes: reading needs viewer, starting a run hunter,
// defining hunts admin (they query the fleet on a schedule).
func (a *API) registerHunts(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/hunts", a.auth(apiv1.RoleViewer, a.listHunts))
	mux.Handle("POST /api/v1/hunts", a.auth(apiv1.RoleAdmin, a.createHunt))
	mux.Handle("GET /api/v1/hunts/{name}", a.auth(apiv1.RoleViewer, a.getHunt))
	mux.Handle("PUT /api/v1/hunts/{name}", a.auth(apiv1.RoleAdmin, a.updateHunt))
	mux.Handle("DELETE /api/v1/hunts/{name}", a.auth(apiv1.RoleAdmin, a.deleteHunt))
	mux.Handle("POST /api/v1/hunts/{name}/run", a.auth(apiv1.RoleHunter, a.runHunt))
	mux.Handle("GET /api/v1/hunts/{name}/runs", a.auth(apiv1.RoleViewer, a.huntRuns))
	mux.Handle("GET /api/v1/hunts/{name}/results", a.auth(apiv1.RoleViewer, a.pushResults))
	mux.Handle("GET /api/v1/runs", a.auth(apiv1.RoleViewer, a.huntRuns))
	mux.Handle("GET /api/v1/runs/{id}", a.auth(apiv1.RoleViewer, a.getRun))
	mux.Handle("GET /api/v1/runs/{id}/rows", a.auth(apiv1.RoleViewer, a.runRows))
}

func apiHuntRun(r store.HuntRun, now time.Time) apiv1.HuntRun {
	out := apiv1.HuntRun{ID: r.ID, HuntID: r.HuntID, Hunt: r.Hunt, Trigger: r.Trigger, By: r.By, State: r.State,
		Message: r.Message, ScheduledAt: r.ScheduledAt, WindowEnd: r.WindowEnd, StartedAt: r.StartedAt,
		Deadline: r.Deadline, EndedAt: optTime(r.EndedAt), DurationMS: r.Duration(now).Milliseconds(),
		HostsTargeted: r.HostsTargeted, HostsResponded: r.HostsResponded, HostsErrored: r.HostsErrored,
		HostsOffline: r.HostsOffline, Rows: r.Rows}
	return out
}

func (a *API) apiHunt(in hunts.Info) apiv1.Hunt {
	h := in.Hunt
	out := apiv1.Hunt{ID: h.ID, Name: h.Name, Description: h.Description, Pack: h.Pack, Queries: in.QueryNames,
		Targets: targeting.Targets(h.Targets), TargetWords: targeting.Targets(h.Targets).Words(), Mode: h.Mode, Schedule: h.Schedule,
		ScheduleWords: in.ScheduleWords, Interval: h.Interval, Enabled: h.Enabled, Builtin: h.Builtin,
		CreatedBy: h.CreatedBy, CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt, NextRuns: in.NextRuns, Problem: in.Problem}
	if h.Timeout > 0 {
		out.Timeout = h.Timeout.String()
	}
	if out.Queries == nil {
		out.Queries = []string{}
	}
	if in.LastRun != nil {
		r := apiHuntRun(*in.LastRun, a.c.Now())
		out.LastRun = &r
	}
	for q := range in.Windowed {
		out.Windowed = append(out.Windowed, q)
	}
	slices.Sort(out.Windowed)
	return out
}

// huntErr maps the service's errors to HTTP answers; what names the hunt or run
// asked for (`hunt "x"`, "run 7"), so that a typo is answered with its name.
func huntErr(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apiv1.Errorf(http.StatusNotFound, "no %s", what)
	case errors.Is(err, hunts.ErrDisabled):
		return apiv1.Errorf(http.StatusConflict, "%s is %v", what, err)
	case errors.Is(err, hunts.ErrInvalid), errors.Is(err, hunts.ErrPushHunt):
		return apiv1.Errorf(http.StatusBadRequest, "%v", err)
	case errors.Is(err, scheduler.ErrSkipped):
		return apiv1.Errorf(http.StatusConflict, "a run of this hunt is still in progress")
	case errors.Is(err, scheduler.ErrNotRunning):
		return apiv1.Errorf(http.StatusServiceUnavailable, "the scheduler is not running")
	}
	return err
}

// huntName is how huntErr names a hunt: quoted, clipped to 100 bytes (the name
// comes from the request).
func huntName(name string) string {
	if len(name) > 100 {
		name = name[:100] + "…"
	}
	return "hunt " + strconv.Quote(name)
}

// nextParam is ?next=: how many next runs to list (default 3, at most 100).
func nextParam(r *http.Request) (int, error) { return intParam(r, "next", 3, 0, 100) }

func (a *API) listHunts(w http.ResponseWriter, r *http.Request) error {
	n, err := nextParam(r)
	if err != nil {
		return err
	}
	hs, err := a.c.Hunts.List(r.Context(), n)
	return reply(w, apiv1.Hunts{Hunts: each(hs, a.apiHunt)}, err)
}

func (a *API) getHunt(w http.ResponseWriter, r *http.Request) error {
	n, err := nextParam(r)
	if err != nil {
		return err
	}
	h, err := a.c.Hunts.Get(r.Context(), r.PathValue("name"), n)
	if err != nil {
		return huntErr(err, huntName(r.PathValue("name")))
	}
	writeJSON(w, http.StatusOK, a.apiHunt(h))
	return nil
}

// huntOf is the hunt a create or update request defines.
func huntOf(req apiv1.HuntRequest) (store.Hunt, error) {
	h := store.Hunt{Name: req.Name, Description: req.Description, Pack: req.Pack, Queries: req.Queries,
		Targets: targeting.Targets(req.Targets), Mode: req.Mode, Schedule: req.Schedule, Interval: req.Interval, Enabled: true}
	if req.Enabled != nil {
		h.Enabled = *req.Enabled
	}
	var err error
	if req.Timeout != "" {
		h.Timeout, err = duration("timeout", req.Timeout, "10m")
	}
	return h, err
}

func (a *API) createHunt(w http.ResponseWriter, r *http.Request) error {
	return a.saveHunt(w, r, "hunt.create", http.StatusCreated, func(h store.Hunt) (string, error) {
		tok, _ := r.Context().Value(ctxKey{}).(store.Token)
		h.CreatedBy = tok.Name
		_, err := a.c.Hunts.Create(r.Context(), h)
		return h.Name, err
	})
}

func (a *API) updateHunt(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	return a.saveHunt(w, r, "hunt.update", http.StatusOK, func(h store.Hunt) (string, error) {
		_, err := a.c.Hunts.Update(r.Context(), name, h)
		return name, huntErr(err, huntName(name))
	})
}

// saveHunt is the flow of creating and updating a hunt: read the request (an
// update's name defaults to the path's), save it with save, which returns the
// audit target, audit the action, answer the saved hunt with status.
func (a *API) saveHunt(w http.ResponseWriter, r *http.Request, action string, status int, save func(store.Hunt) (string, error)) error {
	var req apiv1.HuntRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		req.Name = r.PathValue("name")
	}
	h, err := huntOf(req)
	if err != nil {
		return err
	}
	target, err := save(h)
	if err != nil {
		return huntErr(err, huntName(h.Name))
	}
	if err := a.audit(r, action, target, "", req); err != nil {
		return err
	}
	in, err := a.c.Hunts.Get(r.Context(), h.Name, 3)
	if err != nil {
		return err
	}
	writeJSON(w, status, a.apiHunt(in))
	return nil
}

func (a *API) deleteHunt(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := a.c.Hunts.Delete(r.Context(), name); err != nil {
		return huntErr(err, huntName(name))
	}
	if err := a.audit(r, "hunt.delete", name, "", nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) runHunt(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	tok, _ := r.Context().Value(ctxKey{}).(store.Token)
	run, err := a.c.Hunts.RunNow(r.Context(), name, tok.Name)
	if err != nil {
		return huntErr(err, huntName(name))
	}
	if err := a.audit(r, "hunt.run", name, "", map[string]any{"run_id": run.ID}); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, apiHuntRun(run, a.c.Now()))
	return nil
}

func (a *API) huntRuns(w http.ResponseWriter, r *http.Request) error {
	limit, err := intParam(r, "limit", 50, 1, 1000)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if name == "" {
		name = r.URL.Query().Get("hunt")
	}
	runs, err := a.c.Hunts.Runs(r.Context(), name, limit)
	if err != nil {
		return huntErr(err, huntName(name))
	}
	now := a.c.Now()
	writeJSON(w, http.StatusOK, apiv1.HuntRuns{Runs: each(runs, func(x store.HuntRun) apiv1.HuntRun { return apiHuntRun(x, now) })})
	return nil
}

func (a *API) getRun(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := a.c.Hunts.RunDetail(r.Context(), id)
	if err != nil {
		return huntErr(err, "run "+itoa(id))
	}
	names, err := a.hostnames(r, len(d.Hosts), func(i int) int64 { return d.Hosts[i].HostID })
	if err != nil {
		return err
	}
	out := apiv1.HuntRunDetail{Run: apiHuntRun(d.Run, a.c.Now()), Queries: []apiv1.HuntRunQuery{}, Hosts: []apiv1.HuntRunHost{}}
	for _, q := range d.Queries {
		out.Queries = append(out.Queries, apiv1.HuntRunQuery{Query: q.Query, LiveQueryID: q.LiveQueryID,
			WindowStart: optTime(q.WindowStart), Hosts: q.Hosts, Rows: q.Rows, Counts: q.Counts})
	}
	for _, h := range d.Hosts {
		out.Hosts = append(out.Hosts, apiv1.HuntRunHost{HostID: h.HostID, Hostname: names[h.HostID], State: h.State,
			Rows: h.Rows, Message: h.Message})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// pageParams are ?offset= (default 0) and ?limit= (default 500, at most 10,000).
func pageParams(r *http.Request) (offset, limit int, err error) {
	if offset, err = intParam(r, "offset", 0, 0, math.MaxInt); err != nil {
		return 0, 0, err
	}
	limit, err = intParam(r, "limit", 500, 1, 10000)
	return offset, limit, err
}

func (a *API) runRows(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	offset, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	f := store.RunRowFilter{Query: r.URL.Query().Get("query"), Offset: offset, Limit: limit + 1}
	if f.HostID, err = idParam(r, "host_id"); err != nil {
		return err
	}
	rows, err := a.c.Hunts.RunRows(r.Context(), id, f)
	if err != nil {
		return huntErr(err, "run "+itoa(id))
	}
	page := apiv1.HuntRows{Rows: []apiv1.HuntRow{}}
	if len(rows) > limit {
		rows = rows[:limit]
		next := offset + limit
		page.NextOffset = &next
	}
	names, err := a.hostnames(r, len(rows), func(i int) int64 { return rows[i].HostID })
	if err != nil {
		return err
	}
	for _, x := range rows {
		page.Rows = append(page.Rows, apiv1.HuntRow{Query: x.Query, HostID: x.HostID, Hostname: names[x.HostID], Columns: x.Columns})
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// pushResults returns a push hunt's result log rows: ?query=, ?since= (a
// duration: rows received in the last …), ?limit= per query.
func (a *API) pushResults(w http.ResponseWriter, r *http.Request) error {
	_, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	since, err := a.sinceParam(r, "since")
	if err != nil {
		return err
	}
	rows, err := a.c.Hunts.PushResults(r.Context(), r.PathValue("name"), r.URL.Query().Get("query"), since, limit)
	if err != nil {
		return huntErr(err, huntName(r.PathValue("name")))
	}
	names, err := a.hostnames(r, len(rows), func(i int) int64 { return rows[i].HostID })
	if err != nil {
		return err
	}
	page := apiv1.HuntRows{Rows: []apiv1.HuntRow{}}
	for _, x := range rows {
		page.Rows = append(page.Rows, apiv1.HuntRow{Query: x.Query, HostID: x.HostID, Hostname: names[x.HostID],
			Action: x.Action, UnixTime: x.UnixTime, Columns: x.Columns})
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
