package store

import (
	"context"
	"time"

	"github.com/exechunt/exechunt/orchestrator/targeting"
)

// Hunt delivery modes.
const (
	// ModeDispatch: at each cron tick the orchestrator sends the hunt's queries to
	// its targets as distributed (live) queries and collects a HuntRun.
	ModeDispatch = "dispatch"
	// ModePush: the queries go into the targets' osquery schedule (a pack with an
	// interval); their rows arrive as result logs.
	ModePush = "push"
)

// Hunt run states.
const (
	RunRunning     = "running"
	RunDone        = "done"
	RunFailed      = "failed"      // the run could not be dispatched (Message says why)
	RunInterrupted = "interrupted" // the orchestrator stopped and the run could not resume
)

// Hunt run triggers.
const (
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
)

// Hunt is a pack (or some of its queries), a target and a schedule.
type Hunt struct {
	ID          int64
	Name        string // unique; [a-z0-9][a-z0-9-]*
	Description string
	Pack        string
	Queries     []string // names of the pack's queries; empty means all
	Targets     targeting.Targets
	Mode        string // ModeDispatch or ModePush
	// Schedule is the cron expression of a dispatch hunt (UTC).
	Schedule string
	// Interval overrides the osquery interval (seconds) of a push hunt's queries;
	// 0 keeps each query's own.
	Interval int
	// Timeout is how long a dispatch run waits for its hosts; 0 means the default.
	Timeout   time.Duration
	Enabled   bool
	Builtin   bool // created by the orchestrator on first start
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// HuntRun is one dispatch of a hunt. The counts are per host across all the
// run's queries (a host is "responded" when it answered every query).
type HuntRun struct {
	ID          int64
	HuntID      int64
	Hunt        string // the hunt's name
	Trigger     string // TriggerSchedule or TriggerManual
	By          string // who asked, for manual runs
	State       string // RunRunning, RunDone, RunFailed or RunInterrupted
	Message     string
	ScheduledAt time.Time // the cron tick, or the request time
	// WindowEnd bounds the events the run asks for (time <= WindowEnd); each
	// host's lower bound is its watermark (HuntRunQuery.WindowStart).
	WindowEnd time.Time
	StartedAt time.Time
	Deadline  time.Time
	EndedAt   time.Time

	HostsTargeted, HostsResponded, HostsErrored, HostsOffline, Rows int
}

// Duration is how long the run took (so far, for a running run at now).
func (r HuntRun) Duration(now time.Time) time.Duration {
	if !r.EndedAt.IsZero() {
		return r.EndedAt.Sub(r.StartedAt)
	}
	return now.Sub(r.StartedAt)
}

// HuntRunQuery is one live query of a run: a pack query sent to the hosts that
// share a window start (one per query when the query is not windowed).
type HuntRunQuery struct {
	RunID       int64
	Query       string // the pack query's name
	LiveQueryID int64
	WindowStart time.Time // zero: the query is not windowed
	// Filled by HuntRunQueries.
	Hosts  int
	Rows   int
	Counts map[string]int // per-host states, as LiveQuery.Counts
}

// HuntRunHost is one host's state in a run across the run's queries: pending or
// sent while any query is open, then error (any error, or offline for some
// queries only), offline, ok (rows) or no-rows.
type HuntRunHost struct {
	RunID   int64
	HostID  int64
	State   string
	Rows    int
	Message string // the first error message, if any
}

// HuntRow is one result row of a run.
type HuntRow struct {
	RunID   int64
	Query   string
	HostID  int64
	Seq     int
	Columns map[string]string
}

// RunRowFilter pages a run's rows (ordered by query, host, sequence).
type RunRowFilter struct {
	Query  string
	HostID int64
	Offset int
	Limit  int // 0: 1000
}

// HuntRunFilter selects runs, latest first.
type HuntRunFilter struct {
	HuntID int64 // 0: all hunts
	State  string
	Limit  int // 0: 100
}

// Hunts stores hunt definitions.
type Hunts interface {
	// CreateHunt stores h (ID, CreatedAt, UpdatedAt ignored); a taken name is
	// ErrConflict.
	CreateHunt(ctx context.Context, h Hunt, now time.Time) (Hunt, error)
	// UpdateHunt replaces the hunt with h.ID (name included; CreatedAt kept).
	UpdateHunt(ctx context.Context, h Hunt, now time.Time) (Hunt, error)
	// DeleteHunt removes the hunt and its watermarks; its runs stay in the history.
	DeleteHunt(ctx context.Context, name string) error
	Hunt(ctx context.Context, name string) (Hunt, error)
	// ListHunts returns every hunt, by name.
	ListHunts(ctx context.Context) ([]Hunt, error)
	// SeedHunts creates hs the first time it is called on a database and returns
	// how many it created; later calls do nothing, so a deleted built-in hunt stays
	// deleted. Hunts whose name is taken are left alone.
	SeedHunts(ctx context.Context, hs []Hunt, now time.Time) (int, error)
}

// HuntRuns stores dispatch runs. A run's per-host states and rows are those of
// its live queries (LiveQueries), so agents answer runs exactly like ad-hoc
// queries.
type HuntRuns interface {
	// StartHuntRun stores r as running (ID, State, StartedAt set). A hunt has at
	// most one running run: a second is ErrConflict.
	StartHuntRun(ctx context.Context, r HuntRun, now time.Time) (HuntRun, error)
	AddHuntRunQuery(ctx context.Context, q HuntRunQuery) error
	// FinishHuntRun ends a running run with state (RunDone, RunFailed or
	// RunInterrupted): it stores the counts and, for RunDone, moves the watermark
	// of every host that answered all queries to the run's WindowEnd. Ending a run
	// that is not running is ErrConflict.
	FinishHuntRun(ctx context.Context, id int64, state, message string, now time.Time) (HuntRun, error)
	// HuntRun returns a run; the counts of a running run are computed at the call.
	HuntRun(ctx context.Context, id int64) (HuntRun, error)
	ListHuntRuns(ctx context.Context, f HuntRunFilter) ([]HuntRun, error)
	HuntRunQueries(ctx context.Context, runID int64) ([]HuntRunQuery, error)
	HuntRunHosts(ctx context.Context, runID int64) ([]HuntRunHost, error)
	HuntRunRows(ctx context.Context, runID int64, f RunRowFilter) ([]HuntRow, error)
	// HuntWatermarks returns, per host, the end of the last window the host
	// answered for the hunt.
	HuntWatermarks(ctx context.Context, huntID int64) (map[int64]time.Time, error)
}

// RunHostState is a host's state in a run from the states of its n live queries
// (pending, sent, errored, offline, answered) and its rows; both backends count
// these in SQL and share this rule.
func RunHostState(pending, sent, errored, offline, answered, n, rows int) string {
	switch {
	case pending == n:
		return HostPending
	case pending+sent > 0:
		return HostSent
	case errored > 0 || (offline > 0 && answered > 0):
		return HostError
	case offline > 0:
		return HostOffline
	case rows > 0:
		return HostOK
	default:
		return HostNoRows
	}
}

// Summarize sets r's per-host counts and rows from its hosts' states.
func (r *HuntRun) Summarize(hosts []HuntRunHost) {
	r.HostsTargeted, r.HostsResponded, r.HostsErrored, r.HostsOffline, r.Rows = len(hosts), 0, 0, 0, 0
	for _, h := range hosts {
		switch h.State {
		case HostOK, HostNoRows:
			r.HostsResponded++
		case HostError:
			r.HostsErrored++
		case HostOffline:
			r.HostsOffline++
		}
		r.Rows += h.Rows
	}
}
