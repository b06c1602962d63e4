package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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
	q.Targets = fromNullJSON(targets)
	q.CreatedAt, q.Deadline, q.DoneAt = FromTS(c), FromTS(d), FromTS(done)
	return q, err
}

// CreateLiveQuery implements store.LiveQueries.
func (s *Store) CreateLiveQuery(ctx context.Context, q store.LiveQuery, hostIDs []int64, now time.Time) (store.LiveQuery, error) {
	q.State, q.CreatedAt, q.DoneAt = store.QueryRunning, now, time.Time{}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		q.ID, err = scanID(s.QueryRow(ctx, tx, `INSERT INTO live_queries (sql, discovery, targets, created_by,
			created_at, deadline, state) VALUES (?,?,?,?,?,?,?) RETURNING id`, q.SQL, q.Discovery, nullJSON(q.Targets),
			q.CreatedBy, TS(now), TS(q.Deadline), q.State))
		if err != nil || len(hostIDs) == 0 {
			return err
		}
		_, err = s.Exec(ctx, tx, `INSERT INTO live_query_hosts (query_id, host_id, state, updated_at)
			SELECT ?, value, ?, ? FROM `+s.d.Each("bigint")+` WHERE true ON CONFLICT (query_id, host_id) DO NOTHING`,
			q.ID, store.HostPending, TS(now), s.d.List(hostIDs))
		return err
	})
	if err != nil {
		return store.LiveQuery{}, s.Wrap("create live query", err)
	}
	return s.liveQuery(ctx, s.w, q.ID)
}

func (s *Store) liveQuery(ctx context.Context, on Runner, id int64) (store.LiveQuery, error) {
	q, err := scanLiveQuery(s.QueryRow(ctx, on, `SELECT `+liveQueryColumns+` FROM live_queries WHERE id = ?`, id))
	if err == nil {
		q.Counts, err = s.counts(ctx, on, id)
	}
	return q, s.Wrap("live query", err)
}

// counts returns how many of a live query's hosts are in each state.
func (s *Store) counts(ctx context.Context, on Runner, id int64) (map[string]int, error) {
	m := map[string]int{}
	rows, err := s.Query(ctx, on, `SELECT state, COUNT(*) FROM live_query_hosts WHERE query_id = ? GROUP BY state`, id)
	err = each(rows, err, func(r scanner) error {
		var st string
		var n int
		err := r.Scan(&st, &n)
		m[st] = n
		return err
	})
	return m, err
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
	rows, err := s.Query(ctx, s.r, `SELECT `+liveQueryColumns+` FROM live_queries ORDER BY id DESC LIMIT ?`, limit)
	out, err := collect(rows, err, scanLiveQuery)
	for i := range out {
		if err == nil {
			out[i].Counts, err = s.counts(ctx, s.r, out[i].ID)
		}
	}
	if err != nil {
		return nil, s.Wrap("list live queries", err)
	}
	return out, nil
}

// RecordResults implements store.LiveQueries. Where the dialect locks rows, the
// host's rows of the live queries are locked (SELECT … FOR UPDATE) so a retried
// POST racing the first one changes nothing.
func (s *Store) RecordResults(ctx context.Context, hostID int64, results []store.HostResult, now time.Time) ([]int64, error) {
	var changed []int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		changed = changed[:0]
		answered := map[int64]bool{}
		for _, r := range results {
			answered[r.QueryID] = true
			var state string
			err := s.QueryRow(ctx, tx, s.q.hostQueryState, r.QueryID, hostID).Scan(&state)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && state != store.HostSent) {
				continue // not sent to this host, or already answered (a retried POST)
			}
			if err != nil {
				return err
			}
			next, n := store.HostOK, len(r.Rows)
			switch {
			case r.Status != 0:
				next, n = store.HostError, 0
			case len(r.Rows) == 0:
				next = store.HostNoRows
			}
			if r.Status == 0 && len(r.Rows) > 0 {
				if _, err := s.insertMany(ctx, tx, liveRowInsert, len(r.Rows), func(i int) ([]any, error) {
					cols, err := mapJSON(r.Rows[i])
					return []any{r.QueryID, hostID, i, cols}, err
				}); err != nil {
					return err
				}
			}
			if _, err := s.Exec(ctx, tx, s.q.answer, next, n, r.Status, r.Message, nullJSON(r.Stats), TS(now),
				r.QueryID, hostID); err != nil {
				return err
			}
			changed = append(changed, r.QueryID)
		}
		// osquery runs every query of a read before it writes once: a query sent
		// and absent from the write was skipped by its discovery query.
		rows, err := s.Query(ctx, tx, s.q.sentToHost, hostID)
		sent, err := collect(rows, err, scanID)
		if err != nil {
			return err
		}
		skipped := slices.DeleteFunc(sent, func(id int64) bool { return answered[id] })
		if len(skipped) > 0 {
			if _, err := s.Exec(ctx, tx, s.q.notRun, TS(now), s.d.List(skipped), hostID); err != nil {
				return err
			}
			changed = append(changed, skipped...)
		}
		for _, id := range changed {
			if _, err := s.Exec(ctx, tx, s.q.finishIfDone, TS(now), id, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.Wrap("record results", err)
	}
	slices.Sort(changed)
	return slices.Compact(changed), nil
}

// LiveQueryHosts implements store.LiveQueries.
func (s *Store) LiveQueryHosts(ctx context.Context, queryID int64) ([]store.LiveQueryHost, error) {
	rows, err := s.Query(ctx, s.r, `SELECT query_id, host_id, state, "rows", status, message, stats, updated_at
		FROM live_query_hosts WHERE query_id = ? ORDER BY host_id`, queryID)
	out, err := collect(rows, err, func(r scanner) (store.LiveQueryHost, error) {
		var h store.LiveQueryHost
		var stats sql.NullString
		var u int64
		err := r.Scan(&h.QueryID, &h.HostID, &h.State, &h.Rows, &h.Status, &h.Message, &stats, &u)
		h.Stats, h.UpdatedAt = fromNullJSON(stats), FromTS(u)
		return h, err
	})
	return out, s.Wrap("live query hosts", err)
}

// LiveQueryRows implements store.LiveQueries.
func (s *Store) LiveQueryRows(ctx context.Context, queryID, hostID int64) ([]store.Row, error) {
	var w where
	w.add("query_id = ?", queryID)
	w.addIf(hostID != 0, "host_id = ?", hostID)
	rows, err := s.Query(ctx, s.r, `SELECT host_id, seq, "columns" FROM live_query_rows`+w.String()+
		` ORDER BY host_id, seq`, w.args...)
	out, err := collect(rows, err, func(r scanner) (store.Row, error) {
		var row store.Row
		var cols string
		if err := r.Scan(&row.HostID, &row.Seq, &cols); err != nil {
			return row, err
		}
		return row, json.Unmarshal([]byte(cols), &row.Columns)
	})
	return out, s.Wrap("live query rows", err)
}

// CancelLiveQuery implements store.LiveQueries.
func (s *Store) CancelLiveQuery(ctx context.Context, id int64, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var state string
		if err := s.QueryRow(ctx, tx, `SELECT state FROM live_queries WHERE id = ?`+s.d.ForUpdate, id).Scan(&state); err != nil {
			return err
		}
		if state != store.QueryRunning {
			return fmt.Errorf("live query %d is %s: %w", id, state, store.ErrConflict)
		}
		if _, err := s.Exec(ctx, tx, `UPDATE live_query_hosts SET state = 'offline', message = 'cancelled',
			updated_at = ? WHERE query_id = ? AND state IN ('pending', 'sent')`, TS(now), id); err != nil {
			return err
		}
		_, err := s.Exec(ctx, tx, `UPDATE live_queries SET state = 'cancelled', done_at = ? WHERE id = ?`, TS(now), id)
		return err
	})
	return s.Wrap("cancel live query", err)
}

// FinishLiveQueries implements store.LiveQueries. Queries another orchestrator is
// finishing at the same moment are skipped (the dialect's SkipLocked).
func (s *Store) FinishLiveQueries(ctx context.Context, now time.Time) ([]int64, error) {
	var ended []int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := s.Query(ctx, tx, `SELECT id FROM live_queries WHERE state = 'running' AND (deadline <= ?
			OR NOT EXISTS (SELECT 1 FROM live_query_hosts WHERE query_id = live_queries.id AND state IN ('pending', 'sent')))
			ORDER BY id`+s.d.SkipLocked, TS(now))
		if ended, err = collect(rows, err, scanID); err != nil || len(ended) == 0 {
			return err
		}
		ids := s.in("query_id", "bigint")
		for _, q := range []string{
			`UPDATE live_query_hosts SET state = 'offline', message = 'not picked up before the deadline',
				updated_at = ? WHERE ` + ids + ` AND state = 'pending'`,
			`UPDATE live_query_hosts SET state = 'error', message = 'no answer before the deadline',
				updated_at = ? WHERE ` + ids + ` AND state = 'sent'`,
			`UPDATE live_queries SET state = 'done', done_at = ? WHERE ` + s.in("id", "bigint"),
		} {
			if _, err := s.Exec(ctx, tx, q, TS(now), s.d.List(ended)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.Wrap("finish live queries", err)
	}
	return ended, nil
}

// RunningLiveQueries implements store.LiveQueries.
func (s *Store) RunningLiveQueries(ctx context.Context) (int, error) {
	n, err := scanID(s.QueryRow(ctx, s.r, `SELECT COUNT(*) FROM live_queries WHERE state = 'running'`))
	return int(n), s.Wrap("running live queries", err)
}
