package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The agent endpoints run the same few statements thousands of times a second,
// and the WebAssembly SQLite takes about as long to parse a small statement as to
// run it. These are prepared once when the store opens; the helpers below run a
// statement through its prepared form when it has one (tx.StmtContext reuses the
// writer connection's prepared statement), and plainly otherwise.

const (
	qSavepoint  = `SAVEPOINT grp`
	qRelease    = `RELEASE grp`
	qRollbackTo = `ROLLBACK TO grp`

	qHostByNodeKey = `SELECT ` + hostColumns + ` FROM ` + hostTables + ` WHERE h.node_key_hash = ?`
	// Only enrolled hosts get a row; an older time changes nothing.
	qTouchHost = `INSERT INTO host_seen (host_id, last_seen) SELECT id, ?1 FROM hosts WHERE id = ?2
			ON CONFLICT (host_id) DO UPDATE SET last_seen = excluded.last_seen WHERE excluded.last_seen > host_seen.last_seen`

	qInsertResult = `INSERT INTO result_rows (id, host_id, name, action, unix_time, epoch,
			counter, columns, decorations, received_at) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING`
	qInsertStatus = `INSERT INTO status_logs (id, host_id, unix_time, severity, filename,
			line, message, version, received_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING`

	qPendingCount = `SELECT COUNT(*) FROM live_query_hosts WHERE host_id = ? AND state = 'pending'`
	qPending      = `SELECT q.id, q.sql, q.discovery FROM live_query_hosts h JOIN live_queries q ON q.id = h.query_id
		WHERE h.host_id = ? AND h.state = 'pending' AND q.state = 'running' AND q.deadline > ? ORDER BY q.id`
	qMarkSent = `UPDATE live_query_hosts SET state = 'sent', updated_at = ?
				WHERE query_id = ? AND host_id = ? AND state = 'pending'`
	qHostQueryState = `SELECT state FROM live_query_hosts WHERE query_id = ? AND host_id = ?`
	qInsertLiveRow  = `INSERT INTO live_query_rows (query_id, host_id, seq, columns)
					VALUES (?,?,?,?) ON CONFLICT (query_id, host_id, seq) DO NOTHING`
	qAnswer = `UPDATE live_query_hosts SET state = ?, rows = ?, status = ?, message = ?,
				stats = ?, updated_at = ? WHERE query_id = ? AND host_id = ?`
	qSentToHost   = `SELECT query_id FROM live_query_hosts WHERE host_id = ? AND state = 'sent'`
	qNotRun       = `UPDATE live_query_hosts SET state = 'no-rows', message = 'not run: discovery returned no rows', updated_at = ? WHERE query_id = ? AND host_id = ?`
	qFinishIfDone = `UPDATE live_queries SET state = 'done', done_at = ?
				WHERE id = ? AND state = 'running' AND NOT EXISTS (SELECT 1 FROM live_query_hosts
				WHERE query_id = ? AND state IN ('pending', 'sent'))`
)

// Hot statements by connection pool.
var (
	writerHot = []string{qSavepoint, qRelease, qRollbackTo, qTouchHost, qInsertResult, qInsertStatus, qPending,
		qMarkSent, qHostQueryState, qInsertLiveRow, qAnswer, qSentToHost, qNotRun, qFinishIfDone}
	readerHot = []string{qHostByNodeKey, qPendingCount}
)

// prepareHot prepares the hot statements (after the migrations: they name tables).
func (s *Store) prepareHot(ctx context.Context) error {
	s.hotW, s.hotR = map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
	for _, p := range []struct {
		db  *sql.DB
		qs  []string
		out map[string]*sql.Stmt
	}{{s.w, writerHot, s.hotW}, {s.r, readerHot, s.hotR}} {
		for _, q := range p.qs {
			st, err := p.db.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("sqlite: prepare %.40q: %w", q, err)
			}
			p.out[q] = st
		}
	}
	return nil
}

// closeHot closes the prepared statements.
func (s *Store) closeHot() error {
	var errs []error
	for _, m := range []map[string]*sql.Stmt{s.hotW, s.hotR} {
		for _, st := range m {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// txStmt returns query prepared within tx: the hot statement when there is one.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st := s.hotW[query]; st != nil {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

// txExec runs query in tx.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.hotW[query]; st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// txQuery runs query in tx.
func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := s.hotW[query]; st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

// txQueryRow runs query in tx.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := s.hotW[query]; st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// readRow runs query on the read pool.
func (s *Store) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.hotR[query]; st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, query, args...)
}
