package operatorapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

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
	mux.Handle("GET /api/v1/hunts", a.auth(RoleViewer, a.listHunts))
	mux.Handle("POST /api/v1/hunts", a.auth(RoleAdmin, a.createHunt))
	mux.Handle("GET /api/v1/hunts/{name}", a.auth(RoleViewer, a.getHunt))
	mux.Handle("PUT /api/v1/hunts/{name}", a.auth(RoleAdmin, a.updateHunt))
	mux.Handle("DELETE /api/v1/hunts/{name}", a.auth(RoleAdmin, a.deleteHunt))
	mux.Handle("POST /api/v1/hunts/{name}/run", a.auth(RoleHunter, a.runHunt))
	mux.Handle("GET /api/v1/hunts/{name}/runs", a.auth(RoleViewer, a.huntRuns))
	mux.Handle("GET /api/v1/hunts/{name}/results", a.auth(RoleViewer, a.pushResults))
	mux.Handle("GET /api/v1/runs", a.auth(RoleViewer, a.huntRuns))
	mux.Handle("GET /api/v1/runs/{id}", a.auth(RoleViewer, a.getRun))
	mux.Handle("GET /api/v1/runs/{id}/rows", a.auth(RoleViewer, a.runRows))
}

// HuntRequest is the body of POST /api/v1/hunts and PUT /api/v1/hunts/{name}.
type HuntRequest struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Pack        string            `json:"pack"`
	Queries     []string          `json:"queries,omitempty"`
	Targets     store.HuntTargets `json:"targets"`
	Mode        string            `json:"mode"`               // dispatch or push
	Schedule    string            `json:"schedule,omitempty"` // dispatch: cron, UTC
	Interval    int               `json:"interval,omitempty"` // push: seconds
	Timeout     string            `json:"timeout,omitempty"`  // dispatch: Go duration
	Enabled     *bool             `json:"enabled,omitempty"`  // default true
}

// Hunt is a hunt as the API returns it.
type Hunt struct {
	ID            int64             `json:"id"`
	Name          string            `json:"name"`
	Description   string            `json:"description,omitempty"`
	Pack          string            `json:"pack"`
	Queries       []string          `json:"queries"` // what it runs (all the pack's when none were chosen)
	Targets       store.HuntTargets `json:"targets"`
	TargetWords   string            `json:"target_words"`
	Mode          string            `json:"mode"`
	Schedule      string            `json:"schedule,omitempty"`
	ScheduleWords string            `json:"schedule_words"`
	Interval      int               `json:"interval,omitempty"`
	Timeout       string            `json:"timeout,omitempty"`
	Enabled       bool              `json:"enabled"`
	Builtin       bool              `json:"builtin"`
	CreatedBy     string            `json:"created_by,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	NextRuns      []time.Time       `json:"next_runs,omitempty"`
	LastRun       *HuntRun          `json:"last_run,omitempty"`
	Windowed      []string          `json:"windowed,omitempty"` // queries bounded by a time window per host
	Problem       string            `json:"problem,omitempty"`
}

// HuntRun is a dispatch run as the API returns it.
type HuntRun struct {
	ID             int64      `json:"id"`
	HuntID         int64      `json:"hunt_id"`
	Hunt           string     `json:"hunt"`
	Trigger        string     `json:"trigger"`
	By             string     `json:"by,omitempty"`
	State          string     `json:"state"`
	Message        string     `json:"message,omitempty"`
	ScheduledAt    time.Time  `json:"scheduled_at"`
	WindowEnd      time.Time  `json:"window_end"`
	StartedAt      time.Time  `json:"started_at"`
	Deadline       time.Time  `json:"deadline"`
	EndedAt        *time.Time `json:"ended_at,omitempty"`
	DurationMS     int64      `json:"duration_ms"`
	HostsTargeted  int        `json:"hosts_targeted"`
	HostsResponded int        `json:"hosts_responded"`
	HostsErrored   int        `json:"hosts_errored"`
	HostsOffline   int        `json:"hosts_offline"`
	Rows           int        `json:"rows"`
}

// HuntRunQuery is one live query of a run.
type HuntRunQuery struct {
	Query       string         `json:"query"`
	LiveQueryID int64          `json:"live_query_id"`
	WindowStart *time.Time     `json:"window_start,omitempty"`
	Hosts       int            `json:"hosts"`
	Rows        int            `json:"rows"`
	Counts      map[string]int `json:"counts"`
}

// HuntRunHost is one host's state in a run.
type HuntRunHost struct {
	HostID   int64  `json:"host_id"`
	Hostname string `json:"hostname"`
	State    string `json:"state"`
	Rows     int    `json:"rows"`
	Message  string `json:"message,omitempty"`
}

// HuntRunDetail is GET /api/v1/runs/{id}.
type HuntRunDetail struct {
	Run     HuntRun        `json:"run"`
	Queries []HuntRunQuery `json:"queries"`
	Hosts   []HuntRunHost  `json:"hosts"`
}

// HuntRow is a row of a run (GET /api/v1/runs/{id}/rows) or of a push hunt's
// result logs (GET /api/v1/hunts/{name}/results).
type HuntRow struct {
	Query    string            `json:"query"`
	HostID   int64             `json:"host_id"`
	Hostname string            `json:"hostname"`
	Action   string            `json:"action,omitempty"`    // push: added, removed or snapshot
	UnixTime int64             `json:"unix_time,omitempty"` // push: when osquery ran the query
	Columns  map[string]string `json:"columns"`
}

// HuntRows is a page of rows; NextOffset is absent on the last page.
type HuntRows struct {
	Rows       []HuntRow `json:"rows"`
	NextOffset *int      `json:"next_offset,omitempty"`
}

func apiHuntRun(r store.HuntRun, now time.Time) HuntRun {
	out := HuntRun{ID: r.ID, HuntID: r.HuntID, Hunt: r.Hunt, Trigger: r.Trigger, By: r.By, State: r.State,
		Message: r.Message, ScheduledAt: r.ScheduledAt, WindowEnd: r.WindowEnd, StartedAt: r.StartedAt,
		Deadline: r.Deadline, EndedAt: optTime(r.EndedAt), DurationMS: r.Duration(now).Milliseconds(),
		HostsTargeted: r.HostsTargeted, HostsResponded: r.HostsResponded, HostsErrored: r.HostsErrored,
		HostsOffline: r.HostsOffline, Rows: r.Rows}
	return out
}

func (a *API) apiHunt(in hunts.Info) Hunt {
	h := in.Hunt
	out := Hunt{ID: h.ID, Name: h.Name, Description: h.Description, Pack: h.Pack, Queries: in.QueryNames,
		Targets: h.Targets, TargetWords: targeting.Targets(h.Targets).Words(), Mode: h.Mode, Schedule: h.Schedule,
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

// huntErr maps the service's errors to HTTP answers.
func huntErr(err error) error {
	switch {
	case errors.Is(err, hunts.ErrInvalid), errors.Is(err, hunts.ErrPushHunt):
		return errorf(http.StatusBadRequest, "%v", err)
	case errors.Is(err, scheduler.ErrSkipped):
		return errorf(http.StatusConflict, "a run of this hunt is still in progress")
	case errors.Is(err, scheduler.ErrNotRunning):
		return errorf(http.StatusServiceUnavailable, "the scheduler is not running")
	}
	return err
}

func nextParam(r *http.Request) (int, error) {
	n := 3
	if s := r.URL.Query().Get("next"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			return 0, errorf(http.StatusBadRequest, "bad next %q", s)
		}
		n = min(v, 100)
	}
	return n, nil
}

func (a *API) listHunts(w http.ResponseWriter, r *http.Request) error {
	n, err := nextParam(r)
	if err != nil {
		return err
	}
	hs, err := a.c.Hunts.List(r.Context(), n)
	if err != nil {
		return err
	}
	out := make([]Hunt, 0, len(hs))
	for _, h := range hs {
		out = append(out, a.apiHunt(h))
	}
	writeJSON(w, http.StatusOK, map[string]any{"hunts": out})
	return nil
}

func (a *API) getHunt(w http.ResponseWriter, r *http.Request) error {
	n, err := nextParam(r)
	if err != nil {
		return err
	}
	h, err := a.c.Hunts.Get(r.Context(), r.PathValue("name"), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.apiHunt(h))
	return nil
}

func (req HuntRequest) hunt() (store.Hunt, error) {
	h := store.Hunt{Name: req.Name, Description: req.Description, Pack: req.Pack, Queries: req.Queries,
		Targets: req.Targets, Mode: req.Mode, Schedule: req.Schedule, Interval: req.Interval, Enabled: true}
	if req.Enabled != nil {
		h.Enabled = *req.Enabled
	}
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil || d <= 0 {
			return h, errorf(http.StatusBadRequest, "bad timeout %q", req.Timeout)
		}
		h.Timeout = d
	}
	return h, nil
}

func (a *API) createHunt(w http.ResponseWriter, r *http.Request) error {
	var req HuntRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	h, err := req.hunt()
	if err != nil {
		return err
	}
	tok, _ := r.Context().Value(ctxKey{}).(store.Token)
	h.CreatedBy = tok.Name
	if _, err := a.c.Hunts.Create(r.Context(), h); err != nil {
		return huntErr(err)
	}
	if err := a.audit(r, "hunt.create", h.Name, "", req); err != nil {
		return err
	}
	in, err := a.c.Hunts.Get(r.Context(), h.Name, 3)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a.apiHunt(in))
	return nil
}

func (a *API) updateHunt(w http.ResponseWriter, r *http.Request) error {
	var req HuntRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		req.Name = r.PathValue("name")
	}
	h, err := req.hunt()
	if err != nil {
		return err
	}
	if _, err := a.c.Hunts.Update(r.Context(), r.PathValue("name"), h); err != nil {
		return huntErr(err)
	}
	if err := a.audit(r, "hunt.update", r.PathValue("name"), "", req); err != nil {
		return err
	}
	in, err := a.c.Hunts.Get(r.Context(), h.Name, 3)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.apiHunt(in))
	return nil
}

func (a *API) deleteHunt(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := a.c.Hunts.Delete(r.Context(), name); err != nil {
		return err
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
		return huntErr(err)
	}
	if err := a.audit(r, "hunt.run", name, "", map[string]any{"run_id": run.ID}); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, apiHuntRun(run, a.c.Now()))
	return nil
}

func (a *API) huntRuns(w http.ResponseWriter, r *http.Request) error {
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return errorf(http.StatusBadRequest, "bad limit %q", s)
		}
		limit = min(n, 1000)
	}
	name := r.PathValue("name")
	if name == "" {
		name = r.URL.Query().Get("hunt")
	}
	runs, err := a.c.Hunts.Runs(r.Context(), name, limit)
	if err != nil {
		return err
	}
	now := a.c.Now()
	out := make([]HuntRun, 0, len(runs))
	for _, x := range runs {
		out = append(out, apiHuntRun(x, now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
	return nil
}

func (a *API) getRun(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := a.c.Hunts.RunDetail(r.Context(), id)
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(d.Hosts))
	for _, h := range d.Hosts {
		ids = append(ids, h.HostID)
	}
	names := map[int64]string{}
	if len(ids) > 0 {
		if names, err = a.hostnames(r, ids); err != nil {
			return err
		}
	}
	out := HuntRunDetail{Run: apiHuntRun(d.Run, a.c.Now()), Queries: []HuntRunQuery{}, Hosts: []HuntRunHost{}}
	for _, q := range d.Queries {
		out.Queries = append(out.Queries, HuntRunQuery{Query: q.Query, LiveQueryID: q.LiveQueryID,
			WindowStart: optTime(q.WindowStart), Hosts: q.Hosts, Rows: q.Rows, Counts: q.Counts})
	}
	for _, h := range d.Hosts {
		out.Hosts = append(out.Hosts, HuntRunHost{HostID: h.HostID, Hostname: names[h.HostID], State: h.State,
			Rows: h.Rows, Message: h.Message})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func pageParams(r *http.Request) (offset, limit int, err error) {
	q := r.URL.Query()
	limit = 500
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit <= 0 {
			return 0, 0, errorf(http.StatusBadRequest, "bad limit %q", s)
		}
		limit = min(limit, 10000)
	}
	if s := q.Get("offset"); s != "" {
		if offset, err = strconv.Atoi(s); err != nil || offset < 0 {
			return 0, 0, errorf(http.StatusBadRequest, "bad offset %q", s)
		}
	}
	return offset, limit, nil
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
	if s := r.URL.Query().Get("host_id"); s != "" {
		if f.HostID, err = strconv.ParseInt(s, 10, 64); err != nil || f.HostID <= 0 {
			return errorf(http.StatusBadRequest, "bad host_id %q", s)
		}
	}
	rows, err := a.c.Hunts.RunRows(r.Context(), id, f)
	if err != nil {
		return err
	}
	page := HuntRows{Rows: []HuntRow{}}
	if len(rows) > limit {
		rows = rows[:limit]
		next := offset + limit
		page.NextOffset = &next
	}
	names, err := a.rowHostnames(r, len(rows), func(i int) int64 { return rows[i].HostID })
	if err != nil {
		return err
	}
	for _, x := range rows {
		page.Rows = append(page.Rows, HuntRow{Query: x.Query, HostID: x.HostID, Hostname: names[x.HostID], Columns: x.Columns})
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *API) rowHostnames(r *http.Request, n int, id func(int) int64) (map[int64]string, error) {
	set := map[int64]bool{}
	var ids []int64
	for i := range n {
		if h := id(i); !set[h] {
			set[h] = true
			ids = append(ids, h)
		}
	}
	if len(ids) == 0 {
		return map[int64]string{}, nil
	}
	return a.hostnames(r, ids)
}

// pushResults returns a push hunt's result log rows: ?query=, ?since= (a
// duration: rows received in the last …), ?limit= per query.
func (a *API) pushResults(w http.ResponseWriter, r *http.Request) error {
	_, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	var since time.Time
	if s := r.URL.Query().Get("since"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return errorf(http.StatusBadRequest, "bad since %q (a duration such as 24h)", s)
		}
		since = a.c.Now().Add(-d)
	}
	rows, err := a.c.Hunts.PushResults(r.Context(), r.PathValue("name"), r.URL.Query().Get("query"), since, limit)
	if err != nil {
		return err
	}
	names, err := a.rowHostnames(r, len(rows), func(i int) int64 { return rows[i].HostID })
	if err != nil {
		return err
	}
	page := HuntRows{Rows: []HuntRow{}}
	for _, x := range rows {
		page.Rows = append(page.Rows, HuntRow{Query: x.Query, HostID: x.HostID, Hostname: names[x.HostID],
			Action: x.Action, UnixTime: x.UnixTime, Columns: x.Columns})
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
