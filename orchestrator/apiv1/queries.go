package apiv1

import (
	"encoding/json"
	"time"

	"github.com/exechunt/exechunt/orchestrator/targeting"
)

// CreateQueryRequest is the body of POST /api/v1/queries.
type CreateQueryRequest struct {
	SQL string `json:"sql"`
	// Discovery is an optional osquery discovery query: hosts where it returns no
	// rows skip the query (state no-rows).
	Discovery string `json:"discovery,omitempty"`
	// Targets are the hosts, as hunts target them.
	Targets targeting.Targets `json:"targets"`
	// Timeout is a Go duration ("60s"); the default is the server's.
	Timeout string `json:"timeout,omitempty"`
}

// Query is a live query as the API returns it (also the "query" and "summary"
// events of its stream).
type Query struct {
	ID        int64           `json:"id"`
	SQL       string          `json:"sql"`
	Discovery string          `json:"discovery,omitempty"`
	Targets   json.RawMessage `json:"targets,omitempty"`
	CreatedBy string          `json:"created_by"`
	CreatedAt time.Time       `json:"created_at"`
	Deadline  time.Time       `json:"deadline"`
	State     string          `json:"state"` // running, done or cancelled
	DoneAt    *time.Time      `json:"done_at,omitempty"`
	Hosts     int             `json:"hosts"`
	Counts    map[string]int  `json:"counts"`
	Rows      int             `json:"rows"`
}

// Queries is GET /api/v1/queries.
type Queries struct {
	Queries []Query `json:"queries"`
}

// HostState is one host's progress on a live query (also the "host" event).
type HostState struct {
	HostID   int64  `json:"host_id"`
	Hostname string `json:"hostname"`
	// State is pending (not yet picked up by the agent), sent (handed to it),
	// ok (answered with rows), no-rows (answered without, or skipped by the
	// discovery query), error (a non-zero status, or no answer after being
	// sent) or offline (never picked up before the deadline or cancellation).
	State string `json:"state"`
	// Final is set once State no longer changes (ok, no-rows, error, offline):
	// the server says so, clients need not know which words are final.
	Final   bool            `json:"final"`
	Rows    int             `json:"rows"`
	Status  int             `json:"status,omitempty"`
	Message string          `json:"message,omitempty"`
	Stats   json.RawMessage `json:"stats,omitempty"`
}

// QueryDetail is GET /api/v1/queries/{id}.
type QueryDetail struct {
	Query Query       `json:"query"`
	Hosts []HostState `json:"hosts"`
}

// Row is a result row with its host (also the "row" event).
type Row struct {
	HostID   int64             `json:"host_id"`
	Hostname string            `json:"hostname"`
	Columns  map[string]string `json:"columns"`
}

// Rows is GET /api/v1/queries/{id}/rows.
type Rows struct {
	Rows []Row `json:"rows"`
}
