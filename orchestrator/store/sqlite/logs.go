package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// InsertResults implements store.Logs.
func (s *Store) InsertResults(ctx context.Context, rows []store.ResultRow) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n = 0
		st, err := s.txStmt(ctx, tx, qInsertResult)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, r := range rows {
			cols, err := mapJSON(r.Columns)
			if err != nil {
				return err
			}
			var dec any
			if len(r.Decorations) > 0 {
				d, err := mapJSON(r.Decorations)
				if err != nil {
					return err
				}
				dec = d
			}
			res, err := st.ExecContext(ctx, r.ID, r.HostID, r.Name, r.Action, r.UnixTime, r.Epoch, r.Counter,
				cols, dec, ts(r.ReceivedAt))
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, wrap("insert results", err)
}

// InsertStatusLogs implements store.Logs.
func (s *Store) InsertStatusLogs(ctx context.Context, logs []store.StatusLog) (int, error) {
	if len(logs) == 0 {
		return 0, nil
	}
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n = 0
		st, err := s.txStmt(ctx, tx, qInsertStatus)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, l := range logs {
			res, err := st.ExecContext(ctx, l.ID, l.HostID, l.UnixTime, l.Severity, l.Filename, l.Line, l.Message,
				l.Version, ts(l.ReceivedAt))
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, wrap("insert status logs", err)
}

// Results implements store.Logs.
func (s *Store) Results(ctx context.Context, f store.ResultFilter) ([]store.ResultRow, error) {
	var where []string
	var args []any
	if f.HostID != 0 {
		where = append(where, "host_id = ?")
		args = append(args, f.HostID)
	}
	if f.Name != "" {
		where = append(where, "name = ?")
		args = append(args, f.Name)
	}
	if !f.Since.IsZero() {
		where = append(where, "received_at >= ?")
		args = append(args, ts(f.Since))
	}
	q := `SELECT id, host_id, name, action, unix_time, epoch, counter, columns, decorations, received_at FROM result_rows`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY received_at, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("results", err)
	}
	defer rows.Close()
	var out []store.ResultRow
	for rows.Next() {
		var r store.ResultRow
		var cols string
		var dec sql.NullString
		var recv int64
		if err := rows.Scan(&r.ID, &r.HostID, &r.Name, &r.Action, &r.UnixTime, &r.Epoch, &r.Counter, &cols, &dec, &recv); err != nil {
			return nil, wrap("results", err)
		}
		if err := json.Unmarshal([]byte(cols), &r.Columns); err != nil {
			return nil, wrap("results", err)
		}
		if dec.Valid {
			if err := json.Unmarshal([]byte(dec.String), &r.Decorations); err != nil {
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
	var args []any
	if hostID != 0 {
		q += " WHERE host_id = ?"
		args = append(args, hostID)
	}
	q += " ORDER BY received_at, id"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
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
		res, err := s.w.ExecContext(ctx, `DELETE FROM `+t+` WHERE id IN (SELECT id FROM `+t+` WHERE received_at < ? LIMIT ?)`,
			ts(before), limit)
		if err != nil {
			return n, wrap("prune logs", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}
