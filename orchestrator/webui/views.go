package webui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/exechunt/exechunt/orchestrator/anomalies"
	"github.com/exechunt/exechunt/orchestrator/operatorapi"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// The hunts and anomalies pages read and change everything through the operator
// API with the session's token, like every other page: one path for roles,
// revocation and audit. The types below only shape the API's answers for the
// templates.

// Triage actions of the anomaly page, and the states they set.
var triageStates = map[string]string{
	"acknowledge": store.TriageAcknowledged,
	"suppress":    store.TriageSuppressed, // needs a reason
	"resolve":     store.TriageResolved,
	"reopen":      store.TriageOpen,
}

// anomalyStates are the triage states, for the filter.
var anomalyStates = []string{store.TriageOpen, store.TriageAcknowledged, store.TriageSuppressed, store.TriageResolved}

// anomalyView is an anomaly as the pages show it.
type anomalyView struct {
	anomalies.Anomaly
	Hunt string // the first hunt that found it
}

func viewAnomaly(a anomalies.Anomaly) anomalyView {
	v := anomalyView{Anomaly: a}
	if len(a.Hunts) > 0 {
		v.Hunt = a.Hunts[0]
	}
	return v
}

// huntView is a hunt as the pages show it.
type huntView struct {
	Name, Description, Pack, Schedule, ScheduleWords, Mode, Targets string
	Queries                                                         []string
	Enabled                                                         bool
	NextRuns                                                        []time.Time
	LastRun                                                         *runView
}

// runView is one run of a hunt as the pages show it.
type runView struct {
	ID                                          int64
	Hunt, Trigger, State, Message               string
	StartedAt, EndedAt                          time.Time
	Targeted, Responded, Errored, Offline, Rows int
}

// Duration is how long the run took ("" while it runs).
func (r runView) Duration() string {
	if r.EndedAt.IsZero() || r.StartedAt.IsZero() {
		return ""
	}
	return r.EndedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
}

func viewRun(r operatorapi.HuntRun) runView {
	v := runView{ID: r.ID, Hunt: r.Hunt, Trigger: r.Trigger, State: r.State, Message: r.Message, StartedAt: r.StartedAt,
		Targeted: r.HostsTargeted, Responded: r.HostsResponded, Errored: r.HostsErrored, Offline: r.HostsOffline, Rows: r.Rows}
	if r.By != "" {
		v.Trigger += " (" + r.By + ")"
	}
	if r.EndedAt != nil {
		v.EndedAt = *r.EndedAt
	}
	return v
}

func viewHunt(h operatorapi.Hunt) huntView {
	v := huntView{Name: h.Name, Description: h.Description, Pack: h.Pack, Schedule: h.Schedule,
		ScheduleWords: h.ScheduleWords, Mode: h.Mode, Targets: h.TargetWords, Queries: h.Queries, Enabled: h.Enabled,
		NextRuns: h.NextRuns}
	if h.LastRun != nil {
		r := viewRun(*h.LastRun)
		v.LastRun = &r
	}
	return v
}

// notServed reports an API answer saying the route does not exist: the server
// was built without hunts or anomalies, and the page says "not available".
func notServed(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.status == http.StatusNotFound || ae.status == http.StatusMethodNotAllowed) && ae.msg == "404 page not found"
}

// listHunts reads the hunts through the API.
func (u *UI) listHunts(r *http.Request, s *session) ([]huntView, error) {
	var res struct{ Hunts []operatorapi.Hunt }
	if err := u.api(r, s, http.MethodGet, "/api/v1/hunts", nil, &res); err != nil {
		return nil, err
	}
	out := make([]huntView, 0, len(res.Hunts))
	for _, h := range res.Hunts {
		out = append(out, viewHunt(h))
	}
	return out, nil
}

// listRuns reads the latest runs of a hunt (of every hunt when name is "").
func (u *UI) listRuns(r *http.Request, s *session, name string, limit int) ([]runView, error) {
	path := "/api/v1/runs?limit=" + strconv.Itoa(limit)
	if name != "" {
		path = "/api/v1/hunts/" + url.PathEscape(name) + "/runs?limit=" + strconv.Itoa(limit)
	}
	var res struct{ Runs []operatorapi.HuntRun }
	if err := u.api(r, s, http.MethodGet, path, nil, &res); err != nil {
		return nil, err
	}
	out := make([]runView, 0, len(res.Runs))
	for _, x := range res.Runs {
		out = append(out, viewRun(x))
	}
	return out, nil
}

// anomalyQuery is the API query string of an anomaly filter.
func anomalyQuery(state, technique, hunt, host string, limit int) string {
	q := url.Values{}
	for k, v := range map[string]string{"state": state, "technique": technique, "hunt": hunt, "host": host} {
		if v != "" {
			q.Set(k, v)
		}
	}
	q.Set("limit", strconv.Itoa(limit))
	return "/api/v1/anomalies?" + q.Encode()
}

// listAnomalies reads anomalies through the API.
func (u *UI) listAnomalies(r *http.Request, s *session, path string) ([]anomalyView, error) {
	var list []anomalies.Anomaly
	if err := u.api(r, s, http.MethodGet, path, nil, &list); err != nil {
		return nil, err
	}
	out := make([]anomalyView, len(list))
	for i, a := range list {
		out[i] = viewAnomaly(a)
	}
	return out, nil
}

// getAnomaly reads one anomaly through the API.
func (u *UI) getAnomaly(r *http.Request, s *session, id int64) (anomalyView, error) {
	var a anomalies.Anomaly
	if err := u.api(r, s, http.MethodGet, fmt.Sprintf("/api/v1/anomalies/%d", id), nil, &a); err != nil {
		return anomalyView{}, err
	}
	return viewAnomaly(a), nil
}
