package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

const runColumns = `id, hunt_id, hunt, trigger_kind, requested_by, state, message, scheduled_at, window_end, started_at,
	deadline, ended_at, hosts_targeted, hosts_responded, hosts_errored, hosts_offline, "rows"`

func scanRun(r scanner) (store.HuntRun, error) {
	var x store.HuntRun
	var sched, wend, start, dl, end int64
	err := r.Scan(&x.ID, &x.HuntID, &x.Hunt, &x.Trigger, &x.By, &x.State, &x.Message, &sched, &wend, &start, &dl,
		&end, &x.HostsTargeted, &x.HostsResponded, &x.HostsErrored, &x.HostsOffline, &x.Rows)
	x.ScheduledAt, x.WindowEnd, x.StartedAt, x.Deadline, x.EndedAt = FromTS(sched), FromTS(wend), FromTS(start), FromTS(dl), FromTS(end)
	return x, err
}

// StartHuntRun implements store.HuntRuns. The partial unique index
// hunt_runs_one_running makes a second running run of a hunt ErrConflict, across
// every orchestrator sharing the database.
func (s *Store) StartHuntRun(ctx context.Context, r store.HuntRun, now time.Time) (store.HuntRun, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = scanID(s.QueryRow(ctx, tx, `INSERT INTO hunt_runs (hunt_id, hunt, trigger_kind, requested_by, state,
			message, scheduled_at, window_end, started_at, deadline) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			r.HuntID, r.Hunt, r.Trigger, r.By, store.RunRunning, r.Message, TS(r.ScheduledAt), TS(r.WindowEnd),
			TS(now), TS(r.Deadline)))
		if err != nil && s.d.IsUnique(err) {
			return fmt.Errorf("hunt %q has a running run: %w", r.Hunt, store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return store.HuntRun{}, s.Wrap("start hunt run", err)
	}
	return s.huntRun(ctx, s.w, id)
}

// AddHuntRunQuery implements store.HuntRuns.
func (s *Store) AddHuntRunQuery(ctx context.Context, q store.HuntRunQuery) error {
	_, err := s.Exec(ctx, s.w, `INSERT INTO hunt_run_queries (run_id, query, live_query_id, window_start)
		VALUES (?,?,?,?)`, q.RunID, q.Query, q.LiveQueryID, TS(q.WindowStart))
	return s.Wrap("add hunt run query", err)
}

// runHostsSQL aggregates a run's per-host states over its live queries.
const runHostsSQL = `SELECT h.host_id,
	COUNT(*) FILTER (WHERE h.state = 'pending'), COUNT(*) FILTER (WHERE h.state = 'sent'),
	COUNT(*) FILTER (WHERE h.state = 'error'), COUNT(*) FILTER (WHERE h.state = 'offline'),
	COUNT(*) FILTER (WHERE h.state IN ('ok', 'no-rows')), COUNT(*), COALESCE(SUM(h."rows"), 0),
	COALESCE(MAX(CASE WHEN h.state IN ('error', 'offline') THEN h.message END), '')
	FROM hunt_run_queries q JOIN live_query_hosts h ON h.query_id = q.live_query_id
	WHERE q.run_id = ? GROUP BY h.host_id ORDER BY h.host_id`

// runHosts returns a run's per-host states.
func (s *Store) runHosts(ctx context.Context, on Runner, runID int64) ([]store.HuntRunHost, error) {
	rows, err := s.Query(ctx, on, runHostsSQL, runID)
	return collect(rows, err, func(r scanner) (store.HuntRunHost, error) {
		h := store.HuntRunHost{RunID: runID}
		var pending, sent, errs, off, answered, n int
		if err := r.Scan(&h.HostID, &pending, &sent, &errs, &off, &answered, &n, &h.Rows, &h.Message); err != nil {
			return h, err
		}
		h.State = store.RunHostState(pending, sent, errs, off, answered, n, h.Rows)
		if h.State == store.HostOK || h.State == store.HostNoRows {
			h.Message = ""
		}
		return h, nil
	})
}

// summarize fills a running run's counts from its hosts (a finished run keeps
// the counts stored when it ended).
func (s *Store) summarize(ctx context.Context, on Runner, r *store.HuntRun) error {
	if r.State != store.RunRunning {
		return nil
	}
	hosts, err := s.runHosts(ctx, on, r.ID)
	if err == nil {
		r.Summarize(hosts)
	}
	return err
}

func (s *Store) huntRun(ctx context.Context, on Runner, id int64) (store.HuntRun, error) {
	r, err := scanRun(s.QueryRow(ctx, on, `SELECT `+runColumns+` FROM hunt_runs WHERE id = ?`, id))
	if err == nil {
		err = s.summarize(ctx, on, &r)
	}
	return r, s.Wrap("hunt run", err)
}

// FinishHuntRun implements store.HuntRuns.
func (s *Store) FinishHuntRun(ctx context.Context, id int64, state, message string, now time.Time) (store.HuntRun, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRun(s.QueryRow(ctx, tx, s.q.runForUpdate, id))
		if err != nil {
			return err
		}
		if r.State != store.RunRunning {
			return fmt.Errorf("hunt run %d is %s: %w", id, r.State, store.ErrConflict)
		}
		hosts, err := s.runHosts(ctx, tx, id)
		if err != nil {
			return err
		}
		r.Summarize(hosts)
		if _, err := s.Exec(ctx, tx, `UPDATE hunt_runs SET state = ?, message = ?, ended_at = ?, hosts_targeted = ?,
			hosts_responded = ?, hosts_errored = ?, hosts_offline = ?, "rows" = ? WHERE id = ?`, state, message, TS(now),
			r.HostsTargeted, r.HostsResponded, r.HostsErrored, r.HostsOffline, r.Rows, id); err != nil {
			return err
		}
		if state != store.RunDone {
			return nil
		}
		var answered []int64
		for _, h := range hosts {
			if h.State == store.HostOK || h.State == store.HostNoRows {
				answered = append(answered, h.HostID)
			}
		}
		if len(answered) == 0 {
			return nil
		}
		_, err = s.Exec(ctx, tx, s.q.watermarkHosts, r.HuntID, TS(r.WindowEnd), s.d.List(answered))
		return err
	})
	if err != nil {
		return store.HuntRun{}, s.Wrap("finish hunt run", err)
	}
	return s.huntRun(ctx, s.w, id)
}

// HuntRun implements store.HuntRuns.
func (s *Store) HuntRun(ctx context.Context, id int64) (store.HuntRun, error) {
	return s.huntRun(ctx, s.r, id)
}

// ListHuntRuns implements store.HuntRuns.
func (s *Store) ListHuntRuns(ctx context.Context, f store.HuntRunFilter) ([]store.HuntRun, error) {
	var w where
	w.addIf(f.HuntID != 0, "hunt_id = ?", f.HuntID)
	w.addIf(f.State != "", "state = ?", f.State)
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := s.Query(ctx, s.r, `SELECT `+runColumns+` FROM hunt_runs`+w.String()+` ORDER BY id DESC LIMIT ?`,
		append(w.args, f.Limit)...)
	out, err := collect(rows, err, scanRun)
	for i := range out {
		if err == nil {
			err = s.summarize(ctx, s.r, &out[i])
		}
	}
	if err != nil {
		return nil, s.Wrap("list hunt runs", err)
	}
	return out, nil
}

// HuntRunQueries implements store.HuntRuns.
func (s *Store) HuntRunQueries(ctx context.Context, runID int64) ([]store.HuntRunQuery, error) {
	rows, err := s.Query(ctx, s.r, `SELECT q.query, q.live_query_id, q.window_start, h.state, COUNT(h.host_id),
		COALESCE(SUM(h."rows"), 0) FROM hunt_run_queries q LEFT JOIN live_query_hosts h ON h.query_id = q.live_query_id
		WHERE q.run_id = ? GROUP BY q.query, q.live_query_id, q.window_start, h.state
		ORDER BY q.query, q.live_query_id`, runID)
	var out []store.HuntRunQuery
	err = each(rows, err, func(r scanner) error {
		var q store.HuntRunQuery
		var ws int64
		var state sql.NullString
		var n, nrows int
		if err := r.Scan(&q.Query, &q.LiveQueryID, &ws, &state, &n, &nrows); err != nil {
			return err
		}
		if len(out) == 0 || out[len(out)-1].LiveQueryID != q.LiveQueryID {
			q.RunID, q.WindowStart, q.Counts = runID, FromTS(ws), map[string]int{}
			out = append(out, q)
		}
		if last := &out[len(out)-1]; state.Valid {
			last.Counts[state.String] += n
			last.Hosts += n
			last.Rows += nrows
		}
		return nil
	})
	return out, s.Wrap("hunt run queries", err)
}

// HuntRunHosts implements store.HuntRuns.
func (s *Store) HuntRunHosts(ctx context.Context, runID int64) ([]store.HuntRunHost, error) {
	out, err := s.runHosts(ctx, s.r, runID)
	return out, s.Wrap("hunt run hosts", err)
}

// HuntRunRows implements store.HuntRuns.
func (s *Store) HuntRunRows(ctx context.Context, runID int64, f store.RunRowFilter) ([]store.HuntRow, error) {
	var w where
	w.add("q.run_id = ?", runID)
	w.addIf(f.Query != "", "q.query = ?", f.Query)
	w.addIf(f.HostID != 0, "r.host_id = ?", f.HostID)
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	rows, err := s.Query(ctx, s.r, `SELECT q.query, r.host_id, r.seq, r."columns" FROM hunt_run_queries q
		JOIN live_query_rows r ON r.query_id = q.live_query_id`+w.String()+`
		ORDER BY q.query, r.host_id, q.live_query_id, r.seq LIMIT ? OFFSET ?`, append(w.args, f.Limit, max(f.Offset, 0))...)
	out, err := collect(rows, err, func(sc scanner) (store.HuntRow, error) {
		r := store.HuntRow{RunID: runID}
		var cols string
		if err := sc.Scan(&r.Query, &r.HostID, &r.Seq, &cols); err != nil {
			return r, err
		}
		return r, json.Unmarshal([]byte(cols), &r.Columns)
	})
	return out, s.Wrap("hunt run rows", err)
}

// HuntWatermarks implements store.HuntRuns.
func (s *Store) HuntWatermarks(ctx context.Context, huntID int64) (map[int64]time.Time, error) {
	out := map[int64]time.Time{}
	rows, err := s.Query(ctx, s.r, `SELECT host_id, until FROM hunt_watermarks WHERE hunt_id = ?`, huntID)
	err = each(rows, err, func(r scanner) error {
		var h, u int64
		err := r.Scan(&h, &u)
		out[h] = FromTS(u)
		return err
	})
	return out, s.Wrap("hunt watermarks", err)
}
