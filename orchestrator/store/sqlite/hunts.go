package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

const huntColumns = `id, name, description, pack, queries, targets, mode, schedule, interval, timeout_ms, enabled,
	builtin, created_by, created_at, updated_at`

func scanHunt(r scanner) (store.Hunt, error) {
	var h store.Hunt
	var queries, targets string
	var timeout, created, updated int64
	err := r.Scan(&h.ID, &h.Name, &h.Description, &h.Pack, &queries, &targets, &h.Mode, &h.Schedule, &h.Interval,
		&timeout, &h.Enabled, &h.Builtin, &h.CreatedBy, &created, &updated)
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal([]byte(queries), &h.Queries); err != nil {
		return h, fmt.Errorf("hunt %s: queries: %w", h.Name, err)
	}
	if err := json.Unmarshal([]byte(targets), &h.Targets); err != nil {
		return h, fmt.Errorf("hunt %s: targets: %w", h.Name, err)
	}
	if len(h.Queries) == 0 {
		h.Queries = nil
	}
	h.Timeout = time.Duration(timeout) * time.Millisecond
	h.CreatedAt, h.UpdatedAt = fromTS(created), fromTS(updated)
	return h, nil
}

func huntArgs(h store.Hunt) ([]any, error) {
	q := h.Queries
	if q == nil {
		q = []string{}
	}
	qb, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	tb, err := json.Marshal(h.Targets)
	if err != nil {
		return nil, err
	}
	return []any{h.Name, h.Description, h.Pack, string(qb), string(tb), h.Mode, h.Schedule, h.Interval,
		h.Timeout.Milliseconds(), h.Enabled, h.Builtin, h.CreatedBy}, nil
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func (s *Store) createHunt(ctx context.Context, tx *sql.Tx, h store.Hunt, now time.Time) (int64, error) {
	args, err := huntArgs(h)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO hunts (name, description, pack, queries, targets, mode, schedule,
		interval, timeout_ms, enabled, builtin, created_by, created_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`, append(args, ts(now), ts(now))...).Scan(&id)
	if isUnique(err) {
		return 0, fmt.Errorf("hunt %q exists: %w", h.Name, store.ErrConflict)
	}
	return id, err
}

// CreateHunt implements store.Hunts.
func (s *Store) CreateHunt(ctx context.Context, h store.Hunt, now time.Time) (store.Hunt, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = s.createHunt(ctx, tx, h, now)
		return err
	})
	if err != nil {
		return store.Hunt{}, wrap("create hunt", err)
	}
	return s.huntBy(ctx, s.w, "id = ?", id)
}

// UpdateHunt implements store.Hunts.
func (s *Store) UpdateHunt(ctx context.Context, h store.Hunt, now time.Time) (store.Hunt, error) {
	args, err := huntArgs(h)
	if err != nil {
		return store.Hunt{}, wrap("update hunt", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE hunts SET name = ?, description = ?, pack = ?, queries = ?, targets = ?,
			mode = ?, schedule = ?, interval = ?, timeout_ms = ?, enabled = ?, builtin = ?, created_by = ?,
			updated_at = ? WHERE id = ?`, append(args, ts(now), h.ID)...)
		if isUnique(err) {
			return fmt.Errorf("hunt %q exists: %w", h.Name, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		return nil
	})
	if err != nil {
		return store.Hunt{}, wrap("update hunt", err)
	}
	return s.huntBy(ctx, s.w, "id = ?", h.ID)
}

// DeleteHunt implements store.Hunts.
func (s *Store) DeleteHunt(ctx context.Context, name string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM hunts WHERE name = ?`, name).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM hunt_watermarks WHERE hunt_id = ?`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM hunts WHERE id = ?`, id)
		return err
	})
	return wrap("delete hunt", err)
}

func (s *Store) huntBy(ctx context.Context, db *sql.DB, where string, arg any) (store.Hunt, error) {
	h, err := scanHunt(db.QueryRowContext(ctx, `SELECT `+huntColumns+` FROM hunts WHERE `+where, arg))
	return h, wrap("hunt", err)
}

// Hunt implements store.Hunts.
func (s *Store) Hunt(ctx context.Context, name string) (store.Hunt, error) {
	return s.huntBy(ctx, s.r, "name = ?", name)
}

// ListHunts implements store.Hunts.
func (s *Store) ListHunts(ctx context.Context) ([]store.Hunt, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+huntColumns+` FROM hunts ORDER BY name`)
	if err != nil {
		return nil, wrap("list hunts", err)
	}
	defer rows.Close()
	var out []store.Hunt
	for rows.Next() {
		h, err := scanHunt(rows)
		if err != nil {
			return nil, wrap("list hunts", err)
		}
		out = append(out, h)
	}
	return out, wrap("list hunts", rows.Err())
}

// SeedHunts implements store.Hunts.
func (s *Store) SeedHunts(ctx context.Context, hs []store.Hunt, now time.Time) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n = 0
		res, err := tx.ExecContext(ctx, `INSERT INTO hunt_meta (key, value) VALUES ('seeded', ?) ON CONFLICT (key) DO NOTHING`,
			now.UTC().Format(time.RFC3339))
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil // seeded before
		}
		for _, h := range hs {
			_, err := s.createHunt(ctx, tx, h, now)
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, wrap("seed hunts", err)
}

const runColumns = `id, hunt_id, hunt, trigger_kind, requested_by, state, message, scheduled_at, window_end, started_at, deadline,
	ended_at, hosts_targeted, hosts_responded, hosts_errored, hosts_offline, rows`

func scanRun(r scanner) (store.HuntRun, error) {
	var x store.HuntRun
	var sched, wend, start, dl, end int64
	err := r.Scan(&x.ID, &x.HuntID, &x.Hunt, &x.Trigger, &x.By, &x.State, &x.Message, &sched, &wend, &start, &dl,
		&end, &x.HostsTargeted, &x.HostsResponded, &x.HostsErrored, &x.HostsOffline, &x.Rows)
	x.ScheduledAt, x.WindowEnd, x.StartedAt, x.Deadline, x.EndedAt = fromTS(sched), fromTS(wend), fromTS(start), fromTS(dl), fromTS(end)
	return x, err
}

// StartHuntRun implements store.HuntRuns.
func (s *Store) StartHuntRun(ctx context.Context, r store.HuntRun, now time.Time) (store.HuntRun, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO hunt_runs (hunt_id, hunt, trigger_kind, requested_by, state, message,
			scheduled_at, window_end, started_at, deadline) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			r.HuntID, r.Hunt, r.Trigger, r.By, store.RunRunning, r.Message, ts(r.ScheduledAt), ts(r.WindowEnd),
			ts(now), ts(r.Deadline)).Scan(&id)
		if isUnique(err) {
			return fmt.Errorf("hunt %q has a running run: %w", r.Hunt, store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return store.HuntRun{}, wrap("start hunt run", err)
	}
	return s.huntRun(ctx, s.w, id)
}

// AddHuntRunQuery implements store.HuntRuns.
func (s *Store) AddHuntRunQuery(ctx context.Context, q store.HuntRunQuery) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO hunt_run_queries (run_id, query, live_query_id, window_start)
		VALUES (?,?,?,?)`, q.RunID, q.Query, q.LiveQueryID, ts(q.WindowStart))
	return wrap("add hunt run query", err)
}

// runHostsSQL aggregates a run's per-host states over its live queries.
const runHostsSQL = `SELECT h.host_id,
	SUM(h.state = 'pending'), SUM(h.state = 'sent'), SUM(h.state = 'error'), SUM(h.state = 'offline'),
	SUM(h.state IN ('ok', 'no-rows')), COUNT(*), SUM(h.rows),
	COALESCE(MAX(CASE WHEN h.state IN ('error', 'offline') THEN h.message END), '')
	FROM hunt_run_queries q JOIN live_query_hosts h ON h.query_id = q.live_query_id
	WHERE q.run_id = ? GROUP BY h.host_id ORDER BY h.host_id`

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func runHosts(ctx context.Context, db querier, runID int64) ([]store.HuntRunHost, error) {
	rows, err := db.QueryContext(ctx, runHostsSQL, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.HuntRunHost
	for rows.Next() {
		h := store.HuntRunHost{RunID: runID}
		var pending, sent, errs, off, answered, n int
		if err := rows.Scan(&h.HostID, &pending, &sent, &errs, &off, &answered, &n, &h.Rows, &h.Message); err != nil {
			return nil, err
		}
		h.State = store.RunHostState(pending, sent, errs, off, answered, n, h.Rows)
		if h.State == store.HostOK || h.State == store.HostNoRows {
			h.Message = ""
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

func (s *Store) huntRun(ctx context.Context, db *sql.DB, id int64) (store.HuntRun, error) {
	r, err := scanRun(db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM hunt_runs WHERE id = ?`, id))
	if err != nil {
		return r, wrap("hunt run", err)
	}
	if r.State == store.RunRunning {
		hosts, err := runHosts(ctx, db, id)
		if err != nil {
			return r, wrap("hunt run", err)
		}
		r.Summarize(hosts)
	}
	return r, nil
}

// FinishHuntRun implements store.HuntRuns.
func (s *Store) FinishHuntRun(ctx context.Context, id int64, state, message string, now time.Time) (store.HuntRun, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM hunt_runs WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if r.State != store.RunRunning {
			return fmt.Errorf("hunt run %d is %s: %w", id, r.State, store.ErrConflict)
		}
		hosts, err := runHosts(ctx, tx, id)
		if err != nil {
			return err
		}
		r.Summarize(hosts)
		if _, err := tx.ExecContext(ctx, `UPDATE hunt_runs SET state = ?, message = ?, ended_at = ?, hosts_targeted = ?,
			hosts_responded = ?, hosts_errored = ?, hosts_offline = ?, rows = ? WHERE id = ?`, state, message, ts(now),
			r.HostsTargeted, r.HostsResponded, r.HostsErrored, r.HostsOffline, r.Rows, id); err != nil {
			return err
		}
		if state != store.RunDone {
			return nil
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO hunt_watermarks (hunt_id, host_id, until) VALUES (?,?,?)
			ON CONFLICT (hunt_id, host_id) DO UPDATE SET until = MAX(until, excluded.until)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, h := range hosts {
			if h.State != store.HostOK && h.State != store.HostNoRows {
				continue
			}
			if _, err := st.ExecContext(ctx, r.HuntID, h.HostID, ts(r.WindowEnd)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.HuntRun{}, wrap("finish hunt run", err)
	}
	return s.huntRun(ctx, s.w, id)
}

// HuntRun implements store.HuntRuns.
func (s *Store) HuntRun(ctx context.Context, id int64) (store.HuntRun, error) {
	return s.huntRun(ctx, s.r, id)
}

// ListHuntRuns implements store.HuntRuns.
func (s *Store) ListHuntRuns(ctx context.Context, f store.HuntRunFilter) ([]store.HuntRun, error) {
	var where []string
	var args []any
	if f.HuntID != 0 {
		where, args = append(where, "hunt_id = ?"), append(args, f.HuntID)
	}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, f.State)
	}
	q := `SELECT ` + runColumns + ` FROM hunt_runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := s.r.QueryContext(ctx, q+" ORDER BY id DESC LIMIT ?", append(args, f.Limit)...)
	if err != nil {
		return nil, wrap("list hunt runs", err)
	}
	var out []store.HuntRun
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return nil, wrap("list hunt runs", err)
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("list hunt runs", err)
	}
	for i := range out {
		if out[i].State != store.RunRunning {
			continue
		}
		hosts, err := runHosts(ctx, s.r, out[i].ID)
		if err != nil {
			return nil, wrap("list hunt runs", err)
		}
		out[i].Summarize(hosts)
	}
	return out, nil
}

// HuntRunQueries implements store.HuntRuns.
func (s *Store) HuntRunQueries(ctx context.Context, runID int64) ([]store.HuntRunQuery, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT q.query, q.live_query_id, q.window_start, h.state, COUNT(h.host_id),
		COALESCE(SUM(h.rows), 0) FROM hunt_run_queries q LEFT JOIN live_query_hosts h ON h.query_id = q.live_query_id
		WHERE q.run_id = ? GROUP BY q.live_query_id, h.state ORDER BY q.query, q.live_query_id`, runID)
	if err != nil {
		return nil, wrap("hunt run queries", err)
	}
	defer rows.Close()
	var out []store.HuntRunQuery
	for rows.Next() {
		var q store.HuntRunQuery
		var ws int64
		var state sql.NullString
		var n, nrows int
		if err := rows.Scan(&q.Query, &q.LiveQueryID, &ws, &state, &n, &nrows); err != nil {
			return nil, wrap("hunt run queries", err)
		}
		if len(out) == 0 || out[len(out)-1].LiveQueryID != q.LiveQueryID {
			q.RunID, q.WindowStart, q.Counts = runID, fromTS(ws), map[string]int{}
			out = append(out, q)
		}
		last := &out[len(out)-1]
		if state.Valid {
			last.Counts[state.String] += n
			last.Hosts += n
			last.Rows += nrows
		}
	}
	return out, wrap("hunt run queries", rows.Err())
}

// HuntRunHosts implements store.HuntRuns.
func (s *Store) HuntRunHosts(ctx context.Context, runID int64) ([]store.HuntRunHost, error) {
	out, err := runHosts(ctx, s.r, runID)
	return out, wrap("hunt run hosts", err)
}

// HuntRunRows implements store.HuntRuns.
func (s *Store) HuntRunRows(ctx context.Context, runID int64, f store.RunRowFilter) ([]store.HuntRow, error) {
	q := `SELECT q.query, r.host_id, r.seq, r.columns FROM hunt_run_queries q
		JOIN live_query_rows r ON r.query_id = q.live_query_id WHERE q.run_id = ?`
	args := []any{runID}
	if f.Query != "" {
		q += ` AND q.query = ?`
		args = append(args, f.Query)
	}
	if f.HostID != 0 {
		q += ` AND r.host_id = ?`
		args = append(args, f.HostID)
	}
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	q += ` ORDER BY q.query, r.host_id, q.live_query_id, r.seq LIMIT ? OFFSET ?`
	rows, err := s.r.QueryContext(ctx, q, append(args, f.Limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, wrap("hunt run rows", err)
	}
	defer rows.Close()
	var out []store.HuntRow
	for rows.Next() {
		r := store.HuntRow{RunID: runID}
		var cols string
		if err := rows.Scan(&r.Query, &r.HostID, &r.Seq, &cols); err != nil {
			return nil, wrap("hunt run rows", err)
		}
		if err := json.Unmarshal([]byte(cols), &r.Columns); err != nil {
			return nil, wrap("hunt run rows", err)
		}
		out = append(out, r)
	}
	return out, wrap("hunt run rows", rows.Err())
}

// HuntWatermarks implements store.HuntRuns.
func (s *Store) HuntWatermarks(ctx context.Context, huntID int64) (map[int64]time.Time, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT host_id, until FROM hunt_watermarks WHERE hunt_id = ?`, huntID)
	if err != nil {
		return nil, wrap("hunt watermarks", err)
	}
	defer rows.Close()
	out := map[int64]time.Time{}
	for rows.Next() {
		var h, u int64
		if err := rows.Scan(&h, &u); err != nil {
			return nil, wrap("hunt watermarks", err)
		}
		out[h] = fromTS(u)
	}
	return out, wrap("hunt watermarks", rows.Err())
}
