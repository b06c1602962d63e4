package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// InsertResults implements store.Logs, in one transaction.
func (s *Store) InsertResults(ctx context.Context, rows []store.ResultRow) (int, error) {
	n, err := s.insertLogs(ctx, resultInsert, len(rows), func(i int) ([]any, error) {
		r := rows[i]
		cols, err := mapJSON(r.Columns)
		if err != nil {
			return nil, err
		}
		var dec any
		if len(r.Decorations) > 0 {
			if dec, err = mapJSON(r.Decorations); err != nil {
				return nil, err
			}
		}
		return []any{r.ID, r.HostID, r.Name, r.Action, r.UnixTime, r.Epoch, r.Counter, cols, dec, TS(r.ReceivedAt)}, nil
	})
	return n, s.Wrap("insert results", err)
}

// InsertStatusLogs implements store.Logs, in one transaction.
func (s *Store) InsertStatusLogs(ctx context.Context, logs []store.StatusLog) (int, error) {
	n, err := s.insertLogs(ctx, statusInsert, len(logs), func(i int) ([]any, error) {
		l := logs[i]
		return []any{l.ID, l.HostID, l.UnixTime, l.Severity, l.Filename, l.Line, l.Message, l.Version,
			TS(l.ReceivedAt)}, nil
	})
	return n, s.Wrap("insert status logs", err)
}

// insertLogs inserts n rows in a transaction of their own.
func (s *Store) insertLogs(ctx context.Context, ins rowInsert, n int, row func(i int) ([]any, error)) (int, error) {
	if n == 0 {
		return 0, nil
	}
	inserted := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		inserted, err = s.insertMany(ctx, tx, ins, n, row)
		return err
	})
	return inserted, err
}

// Results implements store.Logs.
func (s *Store) Results(ctx context.Context, f store.ResultFilter) ([]store.ResultRow, error) {
	var w where
	w.addIf(f.HostID != 0, "host_id = ?", f.HostID)
	w.addIf(f.Name != "", "name = ?", f.Name)
	w.addIf(!f.Since.IsZero(), "received_at >= ?", TS(f.Since))
	rows, err := s.Query(ctx, s.r, `SELECT id, host_id, name, action, unix_time, epoch, counter, "columns", decorations,
		received_at FROM result_rows`+w.String()+` ORDER BY received_at, id`+limitTo(f.Limit), w.args...)
	out, err := collect(rows, err, func(sc scanner) (store.ResultRow, error) {
		var r store.ResultRow
		var cols string
		var dec sql.NullString
		var recv int64
		if err := sc.Scan(&r.ID, &r.HostID, &r.Name, &r.Action, &r.UnixTime, &r.Epoch, &r.Counter, &cols, &dec,
			&recv); err != nil {
			return r, err
		}
		r.ReceivedAt = FromTS(recv)
		if err := json.Unmarshal([]byte(cols), &r.Columns); err != nil {
			return r, err
		}
		if dec.Valid {
			return r, json.Unmarshal([]byte(dec.String), &r.Decorations)
		}
		return r, nil
	})
	return out, s.Wrap("results", err)
}

// StatusLogs implements store.Logs.
func (s *Store) StatusLogs(ctx context.Context, hostID int64, limit int) ([]store.StatusLog, error) {
	var w where
	w.addIf(hostID != 0, "host_id = ?", hostID)
	rows, err := s.Query(ctx, s.r, `SELECT id, host_id, unix_time, severity, filename, line, message, version,
		received_at FROM status_logs`+w.String()+` ORDER BY received_at, id`+limitTo(limit), w.args...)
	out, err := collect(rows, err, func(sc scanner) (store.StatusLog, error) {
		var l store.StatusLog
		var recv int64
		err := sc.Scan(&l.ID, &l.HostID, &l.UnixTime, &l.Severity, &l.Filename, &l.Line, &l.Message, &l.Version, &recv)
		l.ReceivedAt = FromTS(recv)
		return l, err
	})
	return out, s.Wrap("status logs", err)
}

// PruneLogs implements store.Logs.
func (s *Store) PruneLogs(ctx context.Context, before time.Time, limit int) (int64, error) {
	var n int64
	for _, t := range []string{"result_rows", "status_logs"} {
		res, err := s.Exec(ctx, s.w, `DELETE FROM `+t+` WHERE id IN (SELECT id FROM `+t+` WHERE received_at < ? LIMIT ?)`,
			TS(before), limit)
		if err != nil {
			return n, s.Wrap("prune logs", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}
