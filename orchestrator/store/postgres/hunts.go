package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exechunt/exechunt/orchestrator/store"
)

const huntColumns = `id, name, description, pack, queries, targets, mode, schedule, "interval", timeout_ms, enabled,
	builtin, created_by, created_at, updated_at`

func scanHunt(r pgx.Row) (store.Hunt, error) {
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

// huntArgs returns the stored form of h's columns name … created_by ($1–$12).
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

// createHunt inserts h; a taken name is ErrConflict and leaves the transaction
// usable (ON CONFLICT DO NOTHING instead of a failed statement).
func createHunt(ctx context.Context, tx pgx.Tx, h store.Hunt, now time.Time) (int64, error) {
	a, err := huntArgs(h)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO hunts (name, description, pack, queries, targets, mode, schedule,
		"interval", timeout_ms, enabled, builtin, created_by, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$13) ON CONFLICT (name) DO NOTHING RETURNING id`,
		append(a, ts(now))...).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("hunt %q exists: %w", h.Name, store.ErrConflict)
	}
	return id, err
}

// CreateHunt implements store.Hunts.
func (s *Store) CreateHunt(ctx context.Context, h store.Hunt, now time.Time) (store.Hunt, error) {
	var id int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		id, err = createHunt(ctx, tx, h, now)
		return err
	})
	if err != nil {
		return store.Hunt{}, wrap("create hunt", err)
	}
	return s.huntBy(ctx, "id", id)
}

// UpdateHunt implements store.Hunts.
func (s *Store) UpdateHunt(ctx context.Context, h store.Hunt, now time.Time) (store.Hunt, error) {
	a, err := huntArgs(h)
	if err != nil {
		return store.Hunt{}, wrap("update hunt", err)
	}
	tag, err := s.db.Exec(ctx, `UPDATE hunts SET name = $1, description = $2, pack = $3, queries = $4, targets = $5,
		mode = $6, schedule = $7, "interval" = $8, timeout_ms = $9, enabled = $10, builtin = $11, created_by = $12,
		updated_at = $13 WHERE id = $14`, append(a, ts(now), h.ID)...)
	switch {
	case isUnique(err):
		return store.Hunt{}, fmt.Errorf("postgres: update hunt: hunt %q exists: %w", h.Name, store.ErrConflict)
	case err != nil:
		return store.Hunt{}, wrap("update hunt", err)
	case tag.RowsAffected() == 0:
		return store.Hunt{}, fmt.Errorf("postgres: update hunt %d: %w", h.ID, store.ErrNotFound)
	}
	return s.huntBy(ctx, "id", h.ID)
}

// DeleteHunt implements store.Hunts.
func (s *Store) DeleteHunt(ctx context.Context, name string) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `DELETE FROM hunts WHERE name = $1 RETURNING id`, name).Scan(&id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM hunt_watermarks WHERE hunt_id = $1`, id)
		return err
	})
	return wrap("delete hunt", err)
}

// huntBy returns the hunt whose column (id or name) is v.
func (s *Store) huntBy(ctx context.Context, column string, v any) (store.Hunt, error) {
	h, err := scanHunt(s.db.QueryRow(ctx, `SELECT `+huntColumns+` FROM hunts WHERE `+column+` = $1`, v))
	return h, wrap("hunt", err)
}

// Hunt implements store.Hunts.
func (s *Store) Hunt(ctx context.Context, name string) (store.Hunt, error) {
	return s.huntBy(ctx, "name", name)
}

// ListHunts implements store.Hunts.
func (s *Store) ListHunts(ctx context.Context) ([]store.Hunt, error) {
	rows, err := s.db.Query(ctx, `SELECT `+huntColumns+` FROM hunts ORDER BY name`)
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
	err := s.tx(ctx, func(tx pgx.Tx) error {
		n = 0
		tag, err := tx.Exec(ctx, `INSERT INTO hunt_meta ("key", value) VALUES ('seeded', $1) ON CONFLICT ("key") DO NOTHING`,
			now.UTC().Format(time.RFC3339))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil // seeded before
		}
		for _, h := range hs {
			_, err := createHunt(ctx, tx, h, now)
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
	ended_at, hosts_targeted, hosts_responded, hosts_errored, hosts_offline, "rows"`

func scanRun(r pgx.Row) (store.HuntRun, error) {
	var x store.HuntRun
	var sched, wend, start, dl, end int64
	err := r.Scan(&x.ID, &x.HuntID, &x.Hunt, &x.Trigger, &x.By, &x.State, &x.Message, &sched, &wend, &start, &dl,
		&end, &x.HostsTargeted, &x.HostsResponded, &x.HostsErrored, &x.HostsOffline, &x.Rows)
	x.ScheduledAt, x.WindowEnd, x.StartedAt, x.Deadline, x.EndedAt = fromTS(sched), fromTS(wend), fromTS(start), fromTS(dl), fromTS(end)
	return x, err
}

// StartHuntRun implements store.HuntRuns. The partial unique index
// hunt_runs_one_running makes a second running run of a hunt ErrConflict, across
// every orchestrator sharing the database.
func (s *Store) StartHuntRun(ctx context.Context, r store.HuntRun, now time.Time) (store.HuntRun, error) {
	var id int64
	err := s.db.QueryRow(ctx, `INSERT INTO hunt_runs (hunt_id, hunt, trigger_kind, requested_by, state, message,
		scheduled_at, window_end, started_at, deadline) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id`,
		r.HuntID, r.Hunt, r.Trigger, r.By, store.RunRunning, r.Message, ts(r.ScheduledAt), ts(r.WindowEnd),
		ts(now), ts(r.Deadline)).Scan(&id)
	if isUnique(err) {
		return store.HuntRun{}, fmt.Errorf("postgres: start hunt run: hunt %q has a running run: %w", r.Hunt, store.ErrConflict)
	}
	if err != nil {
		return store.HuntRun{}, wrap("start hunt run", err)
	}
	return s.huntRun(ctx, s.db, id)
}

// AddHuntRunQuery implements store.HuntRuns.
func (s *Store) AddHuntRunQuery(ctx context.Context, q store.HuntRunQuery) error {
	_, err := s.db.Exec(ctx, `INSERT INTO hunt_run_queries (run_id, query, live_query_id, window_start)
		VALUES ($1,$2,$3,$4)`, q.RunID, q.Query, q.LiveQueryID, ts(q.WindowStart))
	return wrap("add hunt run query", err)
}

// runHostsSQL aggregates a run's per-host states over its live queries.
const runHostsSQL = `SELECT h.host_id,
	COUNT(*) FILTER (WHERE h.state = 'pending'), COUNT(*) FILTER (WHERE h.state = 'sent'),
	COUNT(*) FILTER (WHERE h.state = 'error'), COUNT(*) FILTER (WHERE h.state = 'offline'),
	COUNT(*) FILTER (WHERE h.state IN ('ok', 'no-rows')), COUNT(*), COALESCE(SUM(h."rows"), 0),
	COALESCE(MAX(CASE WHEN h.state IN ('error', 'offline') THEN h.message END), '')
	FROM hunt_run_queries q JOIN live_query_hosts h ON h.query_id = q.live_query_id
	WHERE q.run_id = $1 GROUP BY h.host_id ORDER BY h.host_id`

func runHosts(ctx context.Context, db querier, runID int64) ([]store.HuntRunHost, error) {
	rows, err := db.Query(ctx, runHostsSQL, runID)
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

func (s *Store) huntRun(ctx context.Context, db querier, id int64) (store.HuntRun, error) {
	r, err := scanRun(db.QueryRow(ctx, `SELECT `+runColumns+` FROM hunt_runs WHERE id = $1`, id))
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
	err := s.tx(ctx, func(tx pgx.Tx) error {
		r, err := scanRun(tx.QueryRow(ctx, `SELECT `+runColumns+` FROM hunt_runs WHERE id = $1 FOR UPDATE`, id))
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
		if _, err := tx.Exec(ctx, `UPDATE hunt_runs SET state = $1, message = $2, ended_at = $3, hosts_targeted = $4,
			hosts_responded = $5, hosts_errored = $6, hosts_offline = $7, "rows" = $8 WHERE id = $9`, state, message, ts(now),
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
		_, err = tx.Exec(ctx, `INSERT INTO hunt_watermarks (hunt_id, host_id, until)
			SELECT $1, h, $3 FROM unnest($2::bigint[]) AS h
			ON CONFLICT (hunt_id, host_id) DO UPDATE SET until = GREATEST(hunt_watermarks.until, excluded.until)`,
			r.HuntID, answered, ts(r.WindowEnd))
		return err
	})
	if err != nil {
		return store.HuntRun{}, wrap("finish hunt run", err)
	}
	return s.huntRun(ctx, s.db, id)
}

// HuntRun implements store.HuntRuns.
func (s *Store) HuntRun(ctx context.Context, id int64) (store.HuntRun, error) {
	return s.huntRun(ctx, s.db, id)
}

// ListHuntRuns implements store.HuntRuns.
func (s *Store) ListHuntRuns(ctx context.Context, f store.HuntRunFilter) ([]store.HuntRun, error) {
	var where []string
	var a args
	if f.HuntID != 0 {
		where = append(where, "hunt_id = "+a.add(f.HuntID))
	}
	if f.State != "" {
		where = append(where, "state = "+a.add(f.State))
	}
	q := `SELECT ` + runColumns + ` FROM hunt_runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := s.db.Query(ctx, q+" ORDER BY id DESC LIMIT "+a.add(f.Limit), a...)
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
		hosts, err := runHosts(ctx, s.db, out[i].ID)
		if err != nil {
			return nil, wrap("list hunt runs", err)
		}
		out[i].Summarize(hosts)
	}
	return out, nil
}

// HuntRunQueries implements store.HuntRuns.
func (s *Store) HuntRunQueries(ctx context.Context, runID int64) ([]store.HuntRunQuery, error) {
	rows, err := s.db.Query(ctx, `SELECT q.query, q.live_query_id, q.window_start, h.state, COUNT(h.host_id),
		COALESCE(SUM(h."rows"), 0) FROM hunt_run_queries q LEFT JOIN live_query_hosts h ON h.query_id = q.live_query_id
		WHERE q.run_id = $1 GROUP BY q.query, q.live_query_id, q.window_start, h.state
		ORDER BY q.query, q.live_query_id`, runID)
	if err != nil {
		return nil, wrap("hunt run queries", err)
	}
	defer rows.Close()
	var out []store.HuntRunQuery
	for rows.Next() {
		var q store.HuntRunQuery
		var ws int64
		var state *string
		var n, nrows int
		if err := rows.Scan(&q.Query, &q.LiveQueryID, &ws, &state, &n, &nrows); err != nil {
			return nil, wrap("hunt run queries", err)
		}
		if len(out) == 0 || out[len(out)-1].LiveQueryID != q.LiveQueryID {
			q.RunID, q.WindowStart, q.Counts = runID, fromTS(ws), map[string]int{}
			out = append(out, q)
		}
		last := &out[len(out)-1]
		if state != nil {
			last.Counts[*state] += n
			last.Hosts += n
			last.Rows += nrows
		}
	}
	return out, wrap("hunt run queries", rows.Err())
}

// HuntRunHosts implements store.HuntRuns.
func (s *Store) HuntRunHosts(ctx context.Context, runID int64) ([]store.HuntRunHost, error) {
	out, err := runHosts(ctx, s.db, runID)
	return out, wrap("hunt run hosts", err)
}

// HuntRunRows implements store.HuntRuns.
func (s *Store) HuntRunRows(ctx context.Context, runID int64, f store.RunRowFilter) ([]store.HuntRow, error) {
	q := `SELECT q.query, r.host_id, r.seq, r."columns" FROM hunt_run_queries q
		JOIN live_query_rows r ON r.query_id = q.live_query_id WHERE q.run_id = $1`
	a := args{runID}
	if f.Query != "" {
		q += ` AND q.query = ` + a.add(f.Query)
	}
	if f.HostID != 0 {
		q += ` AND r.host_id = ` + a.add(f.HostID)
	}
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	q += ` ORDER BY q.query, r.host_id, q.live_query_id, r.seq LIMIT ` + a.add(f.Limit) + ` OFFSET ` + a.add(max(f.Offset, 0))
	rows, err := s.db.Query(ctx, q, a...)
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
	rows, err := s.db.Query(ctx, `SELECT host_id, until FROM hunt_watermarks WHERE hunt_id = $1`, huntID)
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
