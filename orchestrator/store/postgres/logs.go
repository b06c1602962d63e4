package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// batchRows bounds the rows of one multi-row INSERT (PostgreSQL allows 65,535
// parameters per statement; result rows take 10 each).
const batchRows = 1000

// insertBatches inserts n rows, batchRows at a time, with multi-row INSERTs of
// head (…VALUES) and tail (ON CONFLICT …); row(i, a) adds row i's values to a and
// returns its "($1,…)" tuple. It returns how many rows were inserted.
func insertBatches(ctx context.Context, tx pgx.Tx, head, tail string, n int, row func(i int, a *args) (string, error)) (int, error) {
	inserted := 0
	for lo := 0; lo < n; lo += batchRows {
		hi := min(lo+batchRows, n)
		var a args
		tuples := make([]string, 0, hi-lo)
		for i := lo; i < hi; i++ {
			t, err := row(i, &a)
			if err != nil {
				return inserted, err
			}
			tuples = append(tuples, t)
		}
		tag, err := tx.Exec(ctx, head+" "+strings.Join(tuples, ",")+" "+tail, a...)
		if err != nil {
			return inserted, err
		}
		inserted += int(tag.RowsAffected())
	}
	return inserted, nil
}

// InsertResults implements store.Logs with multi-row INSERTs in one transaction.
func (s *Store) InsertResults(ctx context.Context, rows []store.ResultRow) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	n := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = insertBatches(ctx, tx, `INSERT INTO result_rows (id, host_id, name, action, unix_time, epoch,
			counter, "columns", decorations, received_at) VALUES`, `ON CONFLICT (id) DO NOTHING`, len(rows),
			func(i int, a *args) (string, error) {
				r := rows[i]
				cols, err := mapJSON(r.Columns)
				if err != nil {
					return "", err
				}
				var dec *string
				if len(r.Decorations) > 0 {
					d, err := mapJSON(r.Decorations)
					if err != nil {
						return "", err
					}
					dec = &d
				}
				return "(" + strings.Join([]string{a.add(r.ID), a.add(r.HostID), a.add(r.Name), a.add(r.Action),
					a.add(r.UnixTime), a.add(r.Epoch), a.add(r.Counter), a.add(cols), a.add(dec),
					a.add(ts(r.ReceivedAt))}, ",") + ")", nil
			})
		return err
	})
	return n, wrap("insert results", err)
}

// InsertStatusLogs implements store.Logs with multi-row INSERTs in one transaction.
func (s *Store) InsertStatusLogs(ctx context.Context, logs []store.StatusLog) (int, error) {
	if len(logs) == 0 {
		return 0, nil
	}
	n := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = insertBatches(ctx, tx, `INSERT INTO status_logs (id, host_id, unix_time, severity, filename,
			line, message, version, received_at) VALUES`, `ON CONFLICT (id) DO NOTHING`, len(logs),
			func(i int, a *args) (string, error) {
				l := logs[i]
				return "(" + strings.Join([]string{a.add(l.ID), a.add(l.HostID), a.add(l.UnixTime), a.add(l.Severity),
					a.add(l.Filename), a.add(l.Line), a.add(l.Message), a.add(l.Version), a.add(ts(l.ReceivedAt))},
					",") + ")", nil
			})
		return err
	})
	return n, wrap("insert status logs", err)
}

// Results implements store.Logs.
func (s *Store) Results(ctx context.Context, f store.ResultFilter) ([]store.ResultRow, error) {
	var where []string
	var a args
	if f.HostID != 0 {
		where = append(where, "host_id = "+a.add(f.HostID))
	}
	if f.Name != "" {
		where = append(where, "name = "+a.add(f.Name))
	}
	if !f.Since.IsZero() {
		where = append(where, "received_at >= "+a.add(ts(f.Since)))
	}
	q := `SELECT id, host_id, name, action, unix_time, epoch, counter, "columns", decorations, received_at FROM result_rows`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY received_at, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.Query(ctx, q, a...)
	if err != nil {
		return nil, wrap("results", err)
	}
	defer rows.Close()
	var out []store.ResultRow
	for rows.Next() {
		var r store.ResultRow
		var cols string
		var dec *string
		var recv int64
		if err := rows.Scan(&r.ID, &r.HostID, &r.Name, &r.Action, &r.UnixTime, &r.Epoch, &r.Counter, &cols, &dec, &recv); err != nil {
			return nil, wrap("results", err)
		}
		if err := json.Unmarshal([]byte(cols), &r.Columns); err != nil {
			return nil, wrap("results", err)
		}
		if dec != nil {
			if err := json.Unmarshal([]byte(*dec), &r.Decorations); err != nil {
				return nil, wrap("results", err)
			}
		}
		r.ReceivedAt = fromTS(recv)
		out = append(out, r)
	}
	return out, wrap("results", rows.Err())
}

// StatusLogs implements store.Logs.
func (s *Store) StatusLogs(ctx context.Context, hostID int64, limit int) ([]store.StatusLog, error) {
	q := `SELECT id, host_id, unix_time, severity, filename, line, message, version, received_at FROM status_logs`
	var a args
	if hostID != 0 {
		q += " WHERE host_id = " + a.add(hostID)
	}
	q += " ORDER BY received_at, id"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.db.Query(ctx, q, a...)
	if err != nil {
		return nil, wrap("status logs", err)
	}
	defer rows.Close()
	var out []store.StatusLog
	for rows.Next() {
		var l store.StatusLog
		var recv int64
		if err := rows.Scan(&l.ID, &l.HostID, &l.UnixTime, &l.Severity, &l.Filename, &l.Line, &l.Message, &l.Version, &recv); err != nil {
			return nil, wrap("status logs", err)
		}
		l.ReceivedAt = fromTS(recv)
		out = append(out, l)
	}
	return out, wrap("status logs", rows.Err())
}

// PruneLogs implements store.Logs.
func (s *Store) PruneLogs(ctx context.Context, before time.Time, limit int) (int64, error) {
	var n int64
	for _, t := range []string{"result_rows", "status_logs"} {
		tag, err := s.db.Exec(ctx, `DELETE FROM `+t+` WHERE id IN (SELECT id FROM `+t+` WHERE received_at < $1 LIMIT $2)`,
			ts(before), limit)
		if err != nil {
			return n, wrap("prune logs", err)
		}
		n += tag.RowsAffected()
	}
	return n, nil
}
