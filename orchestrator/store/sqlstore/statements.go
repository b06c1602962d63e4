package sqlstore

import (
	"context"
	"database/sql"
	"strings"
)

// statements are the queries whose text depends on the dialect, built once. The
// hot ones among them are what HotStatements lists.
type statements struct {
	hostColumns, hostByNodeKey                                              string
	hostQueryState, insertLiveRow, answer, sentToHost, notRun, finishIfDone string
	insertResult, insertStatus, watermarkHosts, runForUpdate                string
}

// Multi-row inserts: head … VALUES, then one (?,…) tuple a row, then tail.
var (
	liveRowInsert = rowInsert{`INSERT INTO live_query_rows (query_id, host_id, seq, "columns") VALUES`,
		`ON CONFLICT (query_id, host_id, seq) DO NOTHING`, 4}
	resultInsert = rowInsert{`INSERT INTO result_rows (id, host_id, name, action, unix_time, epoch, counter,
		"columns", decorations, received_at) VALUES`, `ON CONFLICT (id) DO NOTHING`, 10}
	statusInsert = rowInsert{`INSERT INTO status_logs (id, host_id, unix_time, severity, filename, line, message,
		version, received_at) VALUES`, `ON CONFLICT (id) DO NOTHING`, 9}
)

func newStatements(d Dialect) statements {
	var q statements
	q.hostColumns = `h.id, h.identifier, h.hostname, h.uuid, h.platform, h.os_name, h.os_platform, h.os_version,
		h.osquery_version, h.details, h.enrolled_at, h.first_seen, ` + d.HostLastSeen
	q.hostByNodeKey = `SELECT ` + q.hostColumns + ` FROM ` + d.HostsFrom + ` WHERE h.node_key_hash = ?`
	q.hostQueryState = `SELECT state FROM live_query_hosts WHERE query_id = ? AND host_id = ?` + d.ForUpdate
	q.insertLiveRow = liveRowInsert.one()
	q.answer = `UPDATE live_query_hosts SET state = ?, "rows" = ?, status = ?, message = ?, stats = ?, updated_at = ?
		WHERE query_id = ? AND host_id = ?`
	q.sentToHost = `SELECT query_id FROM live_query_hosts WHERE host_id = ? AND state = 'sent' ORDER BY query_id` +
		d.ForUpdate
	q.notRun = `UPDATE live_query_hosts SET state = 'no-rows', message = 'not run: discovery returned no rows',
		updated_at = ? WHERE query_id IN (SELECT value FROM ` + d.Each("bigint") + `) AND host_id = ? AND state = 'sent'`
	// One query at a time (a write answers one or two): by primary key, cheaper
	// than a list on SQLite.
	q.finishIfDone = `UPDATE live_queries SET state = 'done', done_at = ? WHERE id = ? AND state = 'running'
		AND NOT EXISTS (SELECT 1 FROM live_query_hosts WHERE query_id = ? AND state IN ('pending', 'sent'))`
	q.insertResult, q.insertStatus = resultInsert.one(), statusInsert.one()
	q.watermarkHosts = `INSERT INTO hunt_watermarks (hunt_id, host_id, until) SELECT ?, value, ? FROM ` +
		d.Each("bigint") + ` WHERE true ON CONFLICT (hunt_id, host_id) DO UPDATE
		SET until = ` + d.Greatest + `(hunt_watermarks.until, excluded.until)`
	q.runForUpdate = `SELECT ` + runColumns + ` FROM hunt_runs WHERE id = ?` + d.ForUpdate
	return q
}

// rowInsert is an INSERT of many rows.
type rowInsert struct {
	head, tail string
	cols       int
}

// tuple is one row's (?,…).
func (r rowInsert) tuple() string {
	return "(" + strings.TrimSuffix(strings.Repeat("?,", r.cols), ",") + ")"
}

// one is the statement for one row.
func (r rowInsert) one() string { return r.head + " " + r.tuple() + " " + r.tail }

// batchRows bounds the rows of one multi-row INSERT (PostgreSQL allows 65,535
// parameters per statement; result rows take 10 each).
const batchRows = 1000

// insertMany inserts n rows in tx, row(i) giving row i's values, and returns how
// many were inserted (a conflict skips a row): in multi-row INSERTs of up to
// batchRows rows, or one prepared statement run per row.
func (s *Store) insertMany(ctx context.Context, tx *sql.Tx, ins rowInsert, n int, row func(i int) ([]any, error)) (int, error) {
	inserted := 0
	count := func(res sql.Result, err error) error {
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		inserted += int(k)
		return err
	}
	if !s.d.MultiRowInsert {
		st := s.stmt(ctx, tx, ins.one())
		if st == nil {
			var err error
			if st, err = tx.PrepareContext(ctx, s.bind(ins.one())); err != nil {
				return 0, err
			}
		}
		defer st.Close()
		for i := range n {
			args, err := row(i)
			if err == nil {
				err = count(st.ExecContext(ctx, args...))
			}
			if err != nil {
				return inserted, err
			}
		}
		return inserted, nil
	}
	for lo := 0; lo < n; lo += batchRows {
		hi := min(lo+batchRows, n)
		tuples := make([]string, 0, hi-lo)
		var args []any
		for i := lo; i < hi; i++ {
			a, err := row(i)
			if err != nil {
				return inserted, err
			}
			tuples, args = append(tuples, ins.tuple()), append(args, a...)
		}
		if err := count(tx.ExecContext(ctx, s.bind(ins.head+" "+strings.Join(tuples, ",")+" "+ins.tail), args...)); err != nil {
			return inserted, err
		}
	}
	return inserted, nil
}
