package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
	"github.com/exechunt/exechunt/orchestrator/store/sqlstore"
)

// dialect is SQLite's SQL for sqlstore. Lists go in as one JSON array each
// (json_each), rows are inserted by one prepared statement each (as fast as a
// multi-row INSERT here, and hot), and writes need no locks: there is one writer.
var dialect = sqlstore.Dialect{
	Name:     "sqlite",
	Greatest: "MAX",
	Each:     func(string) string { return "json_each(?)" },
	List: func(v any) any {
		b, _ := json.Marshal(v)
		return string(b)
	},
	Types: strings.NewReplacer("{id}", "INTEGER PRIMARY KEY", "{int64}", "INTEGER", "{bytes}", "BLOB",
		"{bool}", "INTEGER", "{true}", "1", "{false}", "0"),
	Extra: map[int]string{
		// Last-seen times live in their own narrow table, about 15 pages for 5,000
		// hosts. Updated in place, a host's row (with its enroll details, about a
		// page each) put a page per host into the WAL every few seconds: 20 MB
		// every 5 s at 5,000 hosts. A host's last seen is the later of
		// hosts.last_seen (enrolment) and host_seen.last_seen. (Nothing deletes
		// hosts; whatever does must delete its host_seen row too.)
		8: `
CREATE TABLE host_seen (
	host_id   INTEGER PRIMARY KEY,
	last_seen INTEGER NOT NULL
);
`,
	},
	HostsFrom:    `hosts h LEFT JOIN host_seen s ON s.host_id = h.id`,
	HostLastSeen: `MAX(h.last_seen, COALESCE(s.last_seen, 0))`,
	IsUnique: func(err error) bool {
		return strings.Contains(err.Error(), "UNIQUE constraint failed")
	},
	IsFull: full,
}

// The agent endpoints run the same few statements thousands of times a second,
// and the WebAssembly SQLite takes about as long to parse a small statement as to
// run it. These, and sqlstore's HotStatements, are prepared once when the store
// opens (tx.StmtContext then reuses the writer connection's prepared statement).
const (
	qSavepoint  = `SAVEPOINT grp`
	qRelease    = `RELEASE grp`
	qRollbackTo = `ROLLBACK TO grp`

	// Only enrolled hosts get a row; an older time changes nothing.
	qTouchHost = `INSERT INTO host_seen (host_id, last_seen) SELECT id, ?1 FROM hosts WHERE id = ?2
			ON CONFLICT (host_id) DO UPDATE SET last_seen = excluded.last_seen WHERE excluded.last_seen > host_seen.last_seen`

	qPendingCount = `SELECT COUNT(*) FROM live_query_hosts WHERE host_id = ? AND state = 'pending'`
	qPending      = `SELECT q.id, q.sql, q.discovery FROM live_query_hosts h JOIN live_queries q ON q.id = h.query_id
		WHERE h.host_id = ? AND h.state = 'pending' AND q.state = 'running' AND q.deadline > ? ORDER BY q.id`
	qMarkSent = `UPDATE live_query_hosts SET state = 'sent', updated_at = ?
				WHERE query_id = ? AND host_id = ? AND state = 'pending'`
)

// Hot statements of this package by connection pool.
var (
	writerHot = []string{qSavepoint, qRelease, qRollbackTo, qTouchHost, qPending, qMarkSent}
	readerHot = []string{qPendingCount}
)

// TouchHosts implements store.Hosts: in host_seen, in key order (page by page).
func (s *Store) TouchHosts(ctx context.Context, seen map[int64]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range slices.Sorted(maps.Keys(seen)) {
			if _, err := s.Exec(ctx, tx, qTouchHost, sqlstore.TS(seen[id]), id); err != nil {
				return err
			}
		}
		return nil
	})
	return s.Wrap("touch hosts", err)
}

// TakePendingQueries implements store.LiveQueries. Most reads find nothing: it
// looks on the read pool before taking the writer, which then reads and marks
// the pending queries (no other writer can run in between).
func (s *Store) TakePendingQueries(ctx context.Context, hostID int64, now time.Time) ([]store.PendingQuery, error) {
	var n int
	err := s.QueryRow(ctx, s.r, qPendingCount, hostID).Scan(&n)
	if err != nil || n == 0 {
		return nil, s.Wrap("take pending queries", err)
	}
	var out []store.PendingQuery
	err = s.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := s.Query(ctx, tx, qPending, hostID, sqlstore.TS(now))
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
			if _, err := s.Exec(ctx, tx, qMarkSent, sqlstore.TS(now), p.QueryID, hostID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, s.Wrap("take pending queries", err)
}
