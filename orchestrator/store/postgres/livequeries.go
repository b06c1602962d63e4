package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exechunt/exechunt/orchestrator/store"
)

const liveQueryColumns = `id, sql, discovery, targets, created_by, created_at, deadline, state, done_at`

func scanLiveQuery(r pgx.Row) (store.LiveQuery, error) {
	var q store.LiveQuery
	var targets *string
	var c, d, done int64
	err := r.Scan(&q.ID, &q.SQL, &q.Discovery, &targets, &q.CreatedBy, &c, &d, &q.State, &done)
	if targets != nil {
		q.Targets = []byte(*targets)
	}
	q.CreatedAt, q.Deadline, q.DoneAt = fromTS(c), fromTS(d), fromTS(done)
	return q, err
}

// querier is what reads need: the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CreateLiveQuery implements store.LiveQueries.
func (s *Store) CreateLiveQuery(ctx context.Context, q store.LiveQuery, hostIDs []int64, now time.Time) (store.LiveQuery, error) {
	q.State, q.CreatedAt, q.DoneAt = store.QueryRunning, now, time.Time{}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO live_queries (sql, discovery, targets, created_by, created_at,
			deadline, state) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id`, q.SQL, q.Discovery, nullJSON(q.Targets),
			q.CreatedBy, ts(now), ts(q.Deadline), q.State).Scan(&q.ID)
		if err != nil {
			return err
		}
		if len(hostIDs) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO live_query_hosts (query_id, host_id, state, updated_at)
			SELECT $1, h, $3, $4 FROM unnest($2::bigint[]) AS h ON CONFLICT (query_id, host_id) DO NOTHING`,
			q.ID, hostIDs, store.HostPending, ts(now))
		return err
	})
	if err != nil {
		return store.LiveQuery{}, wrap("create live query", err)
	}
	return s.liveQuery(ctx, s.db, q.ID)
}

func (s *Store) liveQuery(ctx context.Context, db querier, id int64) (store.LiveQuery, error) {
	q, err := scanLiveQuery(db.QueryRow(ctx, `SELECT `+liveQueryColumns+` FROM live_queries WHERE id = $1`, id))
	if err != nil {
		return q, wrap("live query", err)
	}
	q.Counts, err = counts(ctx, db, id)
	return q, wrap("live query", err)
}

func counts(ctx context.Context, db querier, id int64) (map[string]int, error) {
	rows, err := db.Query(ctx, `SELECT state, COUNT(*) FROM live_query_hosts WHERE query_id = $1 GROUP BY state`, id)
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
	return s.liveQuery(ctx, s.db, id)
}

// ListLiveQueries implements store.LiveQueries.
func (s *Store) ListLiveQueries(ctx context.Context, limit int) ([]store.LiveQuery, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.Query(ctx, `SELECT `+liveQueryColumns+` FROM live_queries ORDER BY id DESC LIMIT $1`, limit)
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
		if out[i].Counts, err = counts(ctx, s.db, out[i].ID); err != nil {
			return nil, wrap("list live queries", err)
		}
	}
	return out, nil
}

// TakePendingQueries implements store.LiveQueries. One UPDATE … RETURNING marks
// the queries sent, so two concurrent reads by the same host never both get one.
func (s *Store) TakePendingQueries(ctx context.Context, hostID int64, now time.Time) ([]store.PendingQuery, error) {
	rows, err := s.db.Query(ctx, `UPDATE live_query_hosts h SET state = 'sent', updated_at = $2
		FROM live_queries q WHERE q.id = h.query_id AND h.host_id = $1 AND h.state = 'pending'
		AND q.state = 'running' AND q.deadline > $2 RETURNING q.id, q.sql, q.discovery`, hostID, ts(now))
	if err != nil {
		return nil, wrap("take pending queries", err)
	}
	defer rows.Close()
	var out []store.PendingQuery
	for rows.Next() {
		var p store.PendingQuery
		if err := rows.Scan(&p.QueryID, &p.SQL, &p.Discovery); err != nil {
			return nil, wrap("take pending queries", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("take pending queries", err)
	}
	slices.SortFunc(out, func(a, b store.PendingQuery) int { return cmp.Compare(a.QueryID, b.QueryID) })
	return out, nil
}

// RecordResults implements store.LiveQueries. The host's rows of the live
// queries are locked (SELECT … FOR UPDATE) so a retried POST racing the first one
// changes nothing.
func (s *Store) RecordResults(ctx context.Context, hostID int64, results []store.HostResult, now time.Time) ([]int64, error) {
	var changed []int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		changed = changed[:0]
		answered := map[int64]bool{}
		for _, r := range results {
			answered[r.QueryID] = true
			var state string
			err := tx.QueryRow(ctx, `SELECT state FROM live_query_hosts WHERE query_id = $1 AND host_id = $2 FOR UPDATE`,
				r.QueryID, hostID).Scan(&state)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && state != store.HostSent) {
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
			if r.Status == 0 && len(r.Rows) > 0 {
				_, err := insertBatches(ctx, tx, `INSERT INTO live_query_rows (query_id, host_id, seq, "columns") VALUES`,
					`ON CONFLICT (query_id, host_id, seq) DO NOTHING`, len(r.Rows),
					func(i int, a *args) (string, error) {
						cols, err := mapJSON(r.Rows[i])
						if err != nil {
							return "", err
						}
						return "(" + a.add(r.QueryID) + "," + a.add(hostID) + "," + a.add(i) + "," + a.add(cols) + ")", nil
					})
				if err != nil {
					return err
				}
			}
			n := len(r.Rows)
			if r.Status != 0 {
				n = 0
			}
			if _, err := tx.Exec(ctx, `UPDATE live_query_hosts SET state = $1, "rows" = $2, status = $3, message = $4,
				stats = $5, updated_at = $6 WHERE query_id = $7 AND host_id = $8`, next, n, r.Status, r.Message,
				nullJSON(r.Stats), ts(now), r.QueryID, hostID); err != nil {
				return err
			}
			changed = append(changed, r.QueryID)
		}
		// osquery runs every query of a read before it writes once: a query sent
		// and absent from the write was skipped by its discovery query.
		rows, err := tx.Query(ctx, `SELECT query_id FROM live_query_hosts WHERE host_id = $1 AND state = 'sent'
			ORDER BY query_id FOR UPDATE`, hostID)
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
		if len(skipped) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE live_query_hosts SET state = 'no-rows',
				message = 'not run: discovery returned no rows', updated_at = $1
				WHERE query_id = ANY($2) AND host_id = $3 AND state = 'sent'`, ts(now), skipped, hostID); err != nil {
				return err
			}
			changed = append(changed, skipped...)
		}
		if len(changed) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE live_queries SET state = 'done', done_at = $1
				WHERE id = ANY($2) AND state = 'running' AND NOT EXISTS (SELECT 1 FROM live_query_hosts
				WHERE query_id = live_queries.id AND state IN ('pending', 'sent'))`, ts(now), changed); err != nil {
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
	rows, err := s.db.Query(ctx, `SELECT query_id, host_id, state, "rows", status, message, stats, updated_at
		FROM live_query_hosts WHERE query_id = $1 ORDER BY host_id`, queryID)
	if err != nil {
		return nil, wrap("live query hosts", err)
	}
	defer rows.Close()
	var out []store.LiveQueryHost
	for rows.Next() {
		var h store.LiveQueryHost
		var stats *string
		var u int64
		if err := rows.Scan(&h.QueryID, &h.HostID, &h.State, &h.Rows, &h.Status, &h.Message, &stats, &u); err != nil {
			return nil, wrap("live query hosts", err)
		}
		if stats != nil {
			h.Stats = json.RawMessage(*stats)
		}
		h.UpdatedAt = fromTS(u)
		out = append(out, h)
	}
	return out, wrap("live query hosts", rows.Err())
}

// LiveQueryRows implements store.LiveQueries.
func (s *Store) LiveQueryRows(ctx context.Context, queryID, hostID int64) ([]store.Row, error) {
	q := `SELECT host_id, seq, "columns" FROM live_query_rows WHERE query_id = $1`
	a := args{queryID}
	if hostID != 0 {
		q += ` AND host_id = ` + a.add(hostID)
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY host_id, seq`, a...)
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
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var state string
		if err := tx.QueryRow(ctx, `SELECT state FROM live_queries WHERE id = $1 FOR UPDATE`, id).Scan(&state); err != nil {
			return err
		}
		if state != store.QueryRunning {
			return fmt.Errorf("live query %d is %s: %w", id, state, store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `UPDATE live_query_hosts SET state = 'offline', message = 'cancelled',
			updated_at = $1 WHERE query_id = $2 AND state IN ('pending', 'sent')`, ts(now), id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE live_queries SET state = 'cancelled', done_at = $1 WHERE id = $2`, ts(now), id)
		return err
	})
	return wrap("cancel live query", err)
}

// FinishLiveQueries implements store.LiveQueries. Queries another orchestrator is
// finishing at the same moment are skipped (FOR UPDATE SKIP LOCKED).
func (s *Store) FinishLiveQueries(ctx context.Context, now time.Time) ([]int64, error) {
	var ended []int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		ended = ended[:0]
		rows, err := tx.Query(ctx, `SELECT id FROM live_queries WHERE state = 'running' AND (deadline <= $1
			OR NOT EXISTS (SELECT 1 FROM live_query_hosts WHERE query_id = live_queries.id AND state IN ('pending', 'sent')))
			ORDER BY id FOR UPDATE SKIP LOCKED`, ts(now))
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
		if len(ended) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE live_query_hosts SET state = 'offline',
			message = 'not picked up before the deadline', updated_at = $1 WHERE query_id = ANY($2) AND state = 'pending'`,
			ts(now), ended); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE live_query_hosts SET state = 'error',
			message = 'no answer before the deadline', updated_at = $1 WHERE query_id = ANY($2) AND state = 'sent'`,
			ts(now), ended); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE live_queries SET state = 'done', done_at = $1 WHERE id = ANY($2)`, ts(now), ended)
		return err
	})
	if err != nil {
		return nil, wrap("finish live queries", err)
	}
	return ended, nil
}

// RunningLiveQueries implements store.LiveQueries.
func (s *Store) RunningLiveQueries(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM live_queries WHERE state = 'running'`).Scan(&n)
	return n, wrap("running live queries", err)
}
