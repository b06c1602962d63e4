package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

const liveQueryColumns = `id, sql, discovery, targets, created_by, created_at, deadline, state, done_at`

func scanLiveQuery(r scanner) (store.LiveQuery, error) {
	var q store.LiveQuery
	var targets sql.NullString
	var c, d, done int64
	err := r.Scan(&q.ID, &q.SQL, &q.Discovery, &targets, &q.CreatedBy, &c, &d, &q.State, &done)
	if targets.Valid {
		q.Targets = []byte(targets.String)
	}
	q.CreatedAt, q.Deadline, q.DoneAt = fromTS(c), fromTS(d), fromTS(done)
	return q, err
}

// CreateLiveQuery implements store.LiveQueries.
func (s *Store) CreateLiveQuery(ctx context.Context, q store.LiveQuery, hostIDs []int64, now time.Time) (store.LiveQuery, error) {
	q.State, q.CreatedAt, q.DoneAt = store.QueryRunning, now, time.Time{}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO live_queries (sql, discovery, targets, created_by, created_at,
			deadline, state) VALUES (?,?,?,?,?,?,?) RETURNING id`, q.SQL, q.Discovery, nullJSON(q.Targets),
			q.CreatedBy, ts(now), ts(q.Deadline), q.State).Scan(&q.ID)
		if err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO live_query_hosts (query_id, host_id, state, updated_at)
			VALUES (?,?,?,?) ON CONFLICT (query_id, host_id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, h := range hostIDs {
			if _, err := st.ExecContext(ctx, q.ID, h, store.HostPending, ts(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.LiveQuery{}, wrap("create live query", err)
	}
	return s.liveQuery(ctx, s.w, q.ID)
}

func (s *Store) liveQuery(ctx context.Context, db *sql.DB, id int64) (store.LiveQuery, error) {
	q, err := scanLiveQuery(db.QueryRowContext(ctx, `SELECT `+liveQueryColumns+` FROM live_queries WHERE id = ?`, id))
	if err != nil {
		return q, wrap("live query", err)
	}
	q.Counts, err = counts(ctx, db, id)
	return q, wrap("live query", err)
}

func counts(ctx context.Context, db *sql.DB, id int64) (map[string]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT state, COUNT(*) FROM live_query_hosts WHERE query_id = ? GROUP BY state`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		m[st] = n
	}
	return m, rows.Err()
}

// LiveQuery implements store.LiveQueries.
func (s *Store) LiveQuery(ctx context.Context, id int64) (store.LiveQuery, error) {
	return s.liveQuery(ctx, s.r, id)
}

// ListLiveQueries implements store.LiveQueries.
func (s *Store) ListLiveQueries(ctx context.Context, limit int) ([]store.LiveQuery, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+liveQueryColumns+` FROM live_queries ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, wrap("list live queries", err)
	}
	var out []store.LiveQuery
	for rows.Next() {
		q, err := scanLiveQuery(rows)
		if err != nil {
			rows.Close()
			return nil, wrap("list live queries", err)
		}
		out = append(out, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("list live queries", err)
	}
	for i := range out {
		if out[i].Counts, err = counts(ctx, s.r, out[i].ID); err != nil {
			return nil, wrap("list live queries", err)
		}
	}
	return out, nil
}

// TakePendingQueries implements store.LiveQueries.
func (s *Store) TakePendingQueries(ctx context.Context, hostID int64, now time.Time) ([]store.PendingQuery, error) {
	// Most reads find nothing: look on the read pool before taking the writer.
	var any int
	err := s.readRow(ctx, qPendingCount, hostID).Scan(&any)
	if err != nil || any == 0 {
		return nil, wrap("take pending queries", err)
	}
	var out []store.PendingQuery
	err = s.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := s.txQuery(ctx, tx, qPending, hostID, ts(now))
		if err != nil {
			return err
		}
		for rows.Next() {
			var p store.PendingQuery
			if err := rows.Scan(&p.QueryID, &p.SQL, &p.Discovery); err != nil {
				rows.Close()
				return err
			}
			out = append(out, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, p := range out {
			if _, err := s.txExec(ctx, tx, qMarkSent, ts(now), p.QueryID, hostID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, wrap("take pending queries", err)
}

// RecordResults implements store.LiveQueries.
func (s *Store) RecordResults(ctx context.Context, hostID int64, results []store.HostResult, now time.Time) ([]int64, error) {
	var changed []int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		changed = changed[:0]
		answered := map[int64]bool{}
		for _, r := range results {
			answered[r.QueryID] = true
			var state string
			err := s.txQueryRow(ctx, tx, qHostQueryState, r.QueryID, hostID).Scan(&state)
			if err == sql.ErrNoRows || (err == nil && state != store.HostSent) {
				continue // not sent to this host, or already answered (a retried POST)
			}
			if err != nil {
				return err
			}
			next := store.HostOK
			switch {
			case r.Status != 0:
				next = store.HostError
			case len(r.Rows) == 0:
				next = store.HostNoRows
			}
			if r.Status == 0 {
				st, err := s.txStmt(ctx, tx, qInsertLiveRow)
				if err != nil {
					return err
				}
				for i, row := range r.Rows {
					cols, err := mapJSON(row)
					if err == nil {
						_, err = st.ExecContext(ctx, r.QueryID, hostID, i, cols)
					}
					if err != nil {
						st.Close()
						return err
					}
				}
				st.Close()
			}
			n := len(r.Rows)
			if r.Status != 0 {
				n = 0
			}
			if _, err := s.txExec(ctx, tx, qAnswer, next, n, r.Status, r.Message,
				nullJSON(r.Stats), ts(now), r.QueryID, hostID); err != nil {
				return err
			}
			changed = append(changed, r.QueryID)
		}
		// osquery runs every query of a read before it writes once: a query sent
		// and absent from the write was skipped by its discovery query.
		rows, err := s.txQuery(ctx, tx, qSentToHost, hostID)
		if err != nil {
			return err
		}
		var skipped []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			if !answered[id] {
				skipped = append(skipped, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range skipped {
			if _, err := s.txExec(ctx, tx, qNotRun, ts(now), id, hostID); err != nil {
				return err
			}
			changed = append(changed, id)
		}
		for _, id := range changed {
			if _, err := s.txExec(ctx, tx, qFinishIfDone, ts(now), id, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("record results", err)
	}
	slices.Sort(changed)
	return slices.Compact(changed), nil
}

// LiveQueryHosts implements store.LiveQueries.
func (s *Store) LiveQueryHosts(ctx context.Context, queryID int64) ([]store.LiveQueryHost, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT query_id, host_id, state, rows, status, message, stats, updated_at
		FROM live_query_hosts WHERE query_id = ? ORDER BY host_id`, queryID)
	if err != nil {
		return nil, wrap("live query hosts", err)
	}
	defer rows.Close()
	var out []store.LiveQueryHost
	for rows.Next() {
		var h store.LiveQueryHost
		var stats sql.NullString
		var u int64
		if err := rows.Scan(&h.QueryID, &h.HostID, &h.State, &h.Rows, &h.Status, &h.Message, &stats, &u); err != nil {
			return nil, wrap("live query hosts", err)
		}
		if stats.Valid {
			h.Stats = json.RawMessage(stats.String)
		}
		h.UpdatedAt = fromTS(u)
		out = append(out, h)
	}
	return out, wrap("live query hosts", rows.Err())
}

// LiveQueryRows implements store.LiveQueries.
func (s *Store) LiveQueryRows(ctx context.Context, queryID, hostID int64) ([]store.Row, error) {
	q := `SELECT host_id, seq, columns FROM live_query_rows WHERE query_id = ?`
	args := []any{queryID}
	if hostID != 0 {
		q += ` AND host_id = ?`
		args = append(args, hostID)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY host_id, seq`, args...)
	if err != nil {
		return nil, wrap("live query rows", err)
	}
	defer rows.Close()
	var out []store.Row
	for rows.Next() {
		var r store.Row
		var cols string
		if err := rows.Scan(&r.HostID, &r.Seq, &cols); err != nil {
			return nil, wrap("live query rows", err)
		}
		if err := json.Unmarshal([]byte(cols), &r.Columns); err != nil {
			return nil, wrap("live query rows", err)
		}
		out = append(out, r)
	}
	return out, wrap("live query rows", rows.Err())
}

// CancelLiveQuery implements store.LiveQueries.
func (s *Store) CancelLiveQuery(ctx context.Context, id int64, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM live_queries WHERE id = ?`, id).Scan(&state); err != nil {
			return err
		}
		if state != store.QueryRunning {
			return fmt.Errorf("live query %d is %s: %w", id, state, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE live_query_hosts SET state = 'offline', message = 'cancelled',
			updated_at = ? WHERE query_id = ? AND state IN ('pending', 'sent')`, ts(now), id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE live_queries SET state = 'cancelled', done_at = ? WHERE id = ?`, ts(now), id)
		return err
	})
	return wrap("cancel live query", err)
}

// FinishLiveQueries implements store.LiveQueries.
func (s *Store) FinishLiveQueries(ctx context.Context, now time.Time) ([]int64, error) {
	var ended []int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ended = ended[:0]
		rows, err := tx.QueryContext(ctx, `SELECT id FROM live_queries WHERE state = 'running' AND (deadline <= ?
			OR NOT EXISTS (SELECT 1 FROM live_query_hosts WHERE query_id = live_queries.id AND state IN ('pending', 'sent')))`,
			ts(now))
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ended = append(ended, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ended {
			if _, err := tx.ExecContext(ctx, `UPDATE live_query_hosts SET state = 'offline',
				message = 'not picked up before the deadline', updated_at = ? WHERE query_id = ? AND state = 'pending'`,
				ts(now), id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE live_query_hosts SET state = 'error',
				message = 'no answer before the deadline', updated_at = ? WHERE query_id = ? AND state = 'sent'`,
				ts(now), id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE live_queries SET state = 'done', done_at = ? WHERE id = ?`,
				ts(now), id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("finish live queries", err)
	}
	return ended, nil
}

// RunningLiveQueries implements store.LiveQueries.
func (s *Store) RunningLiveQueries(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM live_queries WHERE state = 'running'`).Scan(&n)
	return n, wrap("running live queries", err)
}
