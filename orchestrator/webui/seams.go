package webui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/stack"
)

// Anomaly states and triage actions.
const (
	StateOpen         = "open"
	StateAcknowledged = "acknowledged"
	StateSuppressed   = "suppressed"
	StateResolved     = "resolved"

	ActionAcknowledge = "acknowledge"
	ActionSuppress    = "suppress" // needs a reason
	ActionResolve     = "resolve"
	ActionReopen      = "reopen"
)

// Anomaly is a ranked stack (orchestrator/stack) with what the UI needs around
// it: a stable ID, the hunt that found it, its triage state and its hosts.
type Anomaly struct {
	stack.Anomaly
	ID        int64
	Hunt      string
	State     string // StateOpen, …
	Reason    string // why it was suppressed or resolved
	Hosts     []string
	UpdatedBy string
	UpdatedAt time.Time
}

// AnomalyFilter selects anomalies; zero fields select everything.
type AnomalyFilter struct {
	State, Technique, Hunt, Host string
	Limit                        int
}

// Triage is a hunter's decision on an anomaly.
type Triage struct {
	Action string // ActionAcknowledge, ActionSuppress, ActionResolve or ActionReopen
	Reason string
	By     string // the token name
}

// AnomalySource is the seam the server fills in once stacked hunt results are
// stored: the anomalies page, the stack view and triage read and write through it.
type AnomalySource interface {
	// Anomalies returns the matching anomalies, best rank first.
	Anomalies(ctx context.Context, f AnomalyFilter) ([]Anomaly, error)
	// Anomaly returns one anomaly (store.ErrNotFound-style errors become 404 when
	// they say "not found").
	Anomaly(ctx context.Context, id int64) (Anomaly, error)
	Triage(ctx context.Context, id int64, t Triage) error
}

// Hunt is a scheduled hunt as the UI lists it.
type Hunt struct {
	Name        string
	Description string
	Pack        string
	Queries     []string
	Schedule    string // cron expression, UTC ("0 */2 * * *", "@every 10m")
	// ScheduleWords is the schedule in words; "" lets DescribeSchedule say it.
	ScheduleWords string
	Mode          string // dispatch or push
	Targets       string // in words: "all hosts", "windows", …
	Enabled       bool
	NextRuns      []time.Time
	LastRun       *Run
}

// Run is one run of a hunt.
type Run struct {
	ID        int64
	Hunt      string
	Trigger   string // schedule or manual (by whom)
	State     string // running, done, skipped, failed
	StartedAt time.Time
	EndedAt   time.Time
	Targeted  int
	Responded int
	Errored   int
	Offline   int
	Rows      int
	Message   string
}

// Duration is how long the run took ("" while it runs).
func (r Run) Duration() string {
	if r.EndedAt.IsZero() || r.StartedAt.IsZero() {
		return ""
	}
	return r.EndedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
}

// HuntSource is the seam the server fills in once the scheduler lands.
type HuntSource interface {
	Hunts(ctx context.Context) ([]Hunt, error)
	// Runs returns a hunt's runs, latest first (all hunts when hunt is "").
	Runs(ctx context.Context, hunt string, limit int) ([]Run, error)
	// RunNow starts a run of the hunt at once.
	RunNow(ctx context.Context, hunt, by string) (Run, error)
}

// DescribeSchedule puts a cron expression in words, always in UTC: "every 2
// hours, UTC", "at 03:00 every day, UTC". Unusual expressions are returned
// as they are, with ", UTC".
func DescribeSchedule(expr string) string {
	e := strings.TrimSpace(expr)
	switch e {
	case "":
		return "not scheduled"
	case "@hourly":
		return "every hour, UTC"
	case "@daily", "@midnight":
		return "every day at 00:00, UTC"
	case "@weekly":
		return "every Sunday at 00:00, UTC"
	case "@monthly":
		return "on the 1st of every month at 00:00, UTC"
	case "@yearly", "@annually":
		return "every 1 January at 00:00, UTC"
	}
	if d, ok := strings.CutPrefix(e, "@every "); ok {
		if dd, err := time.ParseDuration(strings.TrimSpace(d)); err == nil {
			return "every " + durationWords(dd)
		}
		return e
	}
	f := strings.Fields(e)
	if len(f) == 6 { // optional seconds field
		if f[0] != "0" {
			return e + ", UTC"
		}
		f = f[1:]
	}
	if len(f) != 5 {
		return e + ", UTC"
	}
	min, hour, dom, mon, dow := f[0], f[1], f[2], f[3], f[4]
	if dom != "*" || mon != "*" {
		return e + ", UTC"
	}
	days := ""
	switch dow {
	case "*":
	case "1-5", "MON-FRI", "mon-fri":
		days = " on weekdays"
	default:
		if n, err := strconv.Atoi(dow); err == nil && n >= 0 && n <= 7 {
			days = " on " + []string{"Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"}[n]
		} else {
			return e + ", UTC"
		}
	}
	step := func(s string) (int, bool) {
		v, ok := strings.CutPrefix(s, "*/")
		if !ok {
			return 0, false
		}
		n, err := strconv.Atoi(v)
		return n, err == nil && n > 0
	}
	num := func(s string) (int, bool) { n, err := strconv.Atoi(s); return n, err == nil }
	switch {
	case min == "*" && hour == "*":
		return "every minute" + days + ", UTC"
	case hour == "*":
		if n, ok := step(min); ok {
			return "every " + plural(n, "minute") + days + ", UTC"
		}
		if m, ok := num(min); ok {
			return fmt.Sprintf("every hour at :%02d%s, UTC", m, days)
		}
	default:
		m, okm := num(min)
		if !okm {
			break
		}
		if n, ok := step(hour); ok {
			s := "every " + plural(n, "hour")
			if m != 0 {
				s += fmt.Sprintf(" at :%02d", m)
			}
			return s + days + ", UTC"
		}
		if h, ok := num(hour); ok {
			if days == "" {
				days = " every day"
			}
			return fmt.Sprintf("at %02d:%02d%s, UTC", h, m, days)
		}
	}
	return e + ", UTC"
}

func plural(n int, unit string) string {
	if n == 1 {
		return unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func durationWords(d time.Duration) string {
	switch {
	case d <= 0:
		return d.String()
	case d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	case d%time.Second == 0:
		return plural(int(d/time.Second), "second")
	}
	return d.String()
}
