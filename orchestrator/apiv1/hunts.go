package apiv1

import (
	"time"

	"github.com/exechunt/exechunt/orchestrator/targeting"
)

// HuntRequest is the body of POST /api/v1/hunts and PUT /api/v1/hunts/{name}.
type HuntRequest struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Pack        string            `json:"pack"`
	Queries     []string          `json:"queries,omitempty"`
	Targets     targeting.Targets `json:"targets"`
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
	Targets       targeting.Targets `json:"targets"`
	TargetWords   string            `json:"target_words"`
	Mode          string            `json:"mode"` // dispatch or push
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
	Trigger        string     `json:"trigger"` // schedule or manual
	By             string     `json:"by,omitempty"`
	State          string     `json:"state"` // running, done, failed (Message says why) or interrupted
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

// Hunts is GET /api/v1/hunts.
type Hunts struct {
	Hunts []Hunt `json:"hunts"`
}

// HuntRuns is GET /api/v1/runs and /api/v1/hunts/{name}/runs.
type HuntRuns struct {
	Runs []HuntRun `json:"runs"`
}
