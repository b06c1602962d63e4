package agentsim

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"
)

// scheduled is one query of the osquery schedule a config pushes: a pack query
// (named pack<delim><pack><delim><query>, as osquery names its result lines) or a
// top-level schedule entry.
type scheduled struct {
	name      string
	sql       string
	interval  time.Duration
	snapshot  bool
	discovery []string                     // the pack's discovery queries: all must return rows
	next      time.Time                    // when it is due
	last      map[string]map[string]string // differential: the previous run's rows by their JSON
}

// setSchedule replaces the schedule with the one of cfg (osquery's "schedule" and
// "packs" blocks), keeping the state of queries that stay the same so a config
// refresh does not send every row again.
func (a *Agent) setSchedule(cfg map[string]any, now time.Time) {
	opts, _ := cfg["options"].(map[string]any)
	delim := "_"
	if d, ok := opts["pack_delimiter"].(string); ok && d != "" {
		delim = d
	}
	if n, ok := opts["logger_tls_max_lines"].(float64); ok && n > 0 {
		a.maxLines = int(n)
	}
	old := map[string]*scheduled{}
	for _, s := range a.schedule {
		old[s.name] = s
	}
	var next []*scheduled
	add := func(name string, q map[string]any, discovery []string) {
		sql, _ := q["query"].(string)
		if sql == "" {
			return
		}
		iv, _ := q["interval"].(float64)
		if iv <= 0 {
			iv = 3600
		}
		snap, _ := q["snapshot"].(bool)
		s := &scheduled{name: name, sql: sql, interval: time.Duration(iv) * time.Second, snapshot: snap,
			discovery: discovery, next: now}
		if o := old[name]; o != nil && o.sql == sql && o.snapshot == snap {
			s.next, s.last = o.next, o.last
		}
		next = append(next, s)
	}
	if sched, ok := cfg["schedule"].(map[string]any); ok {
		for _, name := range slices.Sorted(maps.Keys(sched)) {
			q, _ := sched[name].(map[string]any)
			add(name, q, nil)
		}
	}
	if packs, ok := cfg["packs"].(map[string]any); ok {
		for _, pack := range slices.Sorted(maps.Keys(packs)) {
			p, _ := packs[pack].(map[string]any)
			var discovery []string
			if ds, ok := p["discovery"].([]any); ok {
				for _, d := range ds {
					if s, ok := d.(string); ok {
						discovery = append(discovery, s)
					}
				}
			}
			qs, _ := p["queries"].(map[string]any)
			for _, qn := range slices.Sorted(maps.Keys(qs)) {
				q, _ := qs[qn].(map[string]any)
				add("pack"+delim+pack+delim+qn, q, discovery)
			}
		}
	}
	a.schedule = next
}

// runSchedule runs the scheduled queries that are due and returns their result
// lines in event format: a differential query sends the rows added and removed
// since its previous run, a snapshot query one line with all its rows.
func (a *Agent) runSchedule(ctx context.Context, now time.Time) []map[string]any {
	var lines []map[string]any
	for _, s := range a.schedule {
		if now.Before(s.next) {
			continue
		}
		s.next = now.Add(s.interval)
		if !a.discovered(ctx, s.discovery) {
			continue
		}
		rows, err := a.run(ctx, s.sql)
		if err != nil {
			a.c.Counters.fail(fmt.Errorf("scheduled query %s: %w", s.name, err))
			continue
		}
		a.c.Counters.count(scheduledRuns, 1)
		if s.snapshot {
			if rows == nil {
				rows = []map[string]string{}
			}
			l := resultLine(s.name, a.c.Host, a.counter, now)
			l["snapshot"], l["action"] = rows, "snapshot"
			lines = append(lines, l)
			continue
		}
		cur := make(map[string]map[string]string, len(rows))
		for _, r := range rows {
			b, _ := json.Marshal(r) // maps marshal with sorted keys: one key per distinct row
			cur[string(b)] = r
		}
		for _, k := range slices.Sorted(maps.Keys(cur)) {
			if _, seen := s.last[k]; !seen {
				lines = append(lines, eventLine(s.name, a.c.Host, a.counter, now, cur[k], "added"))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(s.last)) {
			if _, still := cur[k]; !still {
				lines = append(lines, eventLine(s.name, a.c.Host, a.counter, now, s.last[k], "removed"))
			}
		}
		s.last = cur
	}
	return lines
}

// discovered reports whether every discovery query returns a row (osquery runs a
// pack only then).
func (a *Agent) discovered(ctx context.Context, discovery []string) bool {
	for _, d := range discovery {
		if rows, err := a.run(ctx, d); err != nil || len(rows) == 0 {
			return false
		}
	}
	return true
}

// Counters count what a fleet of agents did, for progress lines; every field is
// safe to read while agents run. A nil *Counters counts nothing.
type Counters struct {
	Enrolled      atomic.Int64 // agents enrolled at least once
	Queries       atomic.Int64 // distributed queries answered
	ScheduledRuns atomic.Int64 // scheduled queries run
	ResultRows    atomic.Int64 // result rows sent in result logs
	Errors        atomic.Int64 // failed requests and queries
	lastErr       atomic.Pointer[error]
}

// count adds n to the counter pick chooses.
func (c *Counters) count(pick func(*Counters) *atomic.Int64, n int64) {
	if c != nil {
		pick(c).Add(n)
	}
}

func enrolled(c *Counters) *atomic.Int64      { return &c.Enrolled }
func answered(c *Counters) *atomic.Int64      { return &c.Queries }
func scheduledRuns(c *Counters) *atomic.Int64 { return &c.ScheduledRuns }
func resultRows(c *Counters) *atomic.Int64    { return &c.ResultRows }

func (c *Counters) fail(err error) {
	if c != nil && err != nil {
		c.Errors.Add(1)
		c.lastErr.Store(&err)
	}
}

// LastError returns the most recent error counted (nil if none).
func (c *Counters) LastError() error {
	if p := c.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// resultRowCount is the number of rows the result lines carry.
func resultRowCount(lines []map[string]any) int64 {
	var n int64
	for _, l := range lines {
		if rows, ok := l["snapshot"].([]map[string]string); ok {
			n += int64(len(rows))
		} else {
			n++
		}
	}
	return n
}
