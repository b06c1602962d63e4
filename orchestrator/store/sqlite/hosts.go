package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// hostColumns are read FROM hostTables.
const (
	hostColumns = `h.id, h.identifier, h.hostname, h.uuid, h.platform, h.os_name, h.os_platform,
	h.os_version, h.osquery_version, h.details, h.enrolled_at, h.first_seen, ` + hostLastSeen
	hostTables   = `hosts h LEFT JOIN host_seen s ON s.host_id = h.id`
	hostLastSeen = `MAX(h.last_seen, COALESCE(s.last_seen, 0))`
)

type scanner interface{ Scan(...any) error }

func scanHost(r scanner) (store.Host, error) {
	var h store.Host
	var details sql.NullString
	var enrolled, first, last int64
	err := r.Scan(&h.ID, &h.Identifier, &h.Hostname, &h.UUID, &h.Platform, &h.OSName, &h.OSPlatform,
		&h.OSVersion, &h.OsqueryVersion, &details, &enrolled, &first, &last)
	if details.Valid {
		h.Details = []byte(details.String)
	}
	h.EnrolledAt, h.FirstSeen, h.LastSeen = fromTS(enrolled), fromTS(first), fromTS(last)
	return h, err
}

// EnrollHost implements store.Hosts.
func (s *Store) EnrollHost(ctx context.Context, e store.Enrollment, now time.Time) (store.Host, error) {
	if len(e.NodeKeyHash) == 0 {
		return store.Host{}, errors.New("sqlite: enroll host: empty node key hash")
	}
	h := e.Host
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if h.UUID != "" {
			err = tx.QueryRowContext(ctx, `SELECT id FROM hosts WHERE uuid = ? ORDER BY id LIMIT 1`, h.UUID).Scan(&id)
		} else {
			err = tx.QueryRowContext(ctx, `SELECT id FROM hosts WHERE uuid = '' AND identifier = ? ORDER BY id LIMIT 1`, h.Identifier).Scan(&id)
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return tx.QueryRowContext(ctx, `INSERT INTO hosts (identifier, hostname, uuid, platform, os_name,
				os_platform, os_version, osquery_version, details, node_key_hash, enrolled_at, first_seen, last_seen)
				VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
				h.Identifier, h.Hostname, h.UUID, h.Platform, h.OSName, h.OSPlatform, h.OSVersion, h.OsqueryVersion,
				nullJSON(h.Details), e.NodeKeyHash, ts(now), ts(now), ts(now)).Scan(&id)
		case err != nil:
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE hosts SET identifier = ?, hostname = ?, platform = ?, os_name = ?,
			os_platform = ?, os_version = ?, osquery_version = ?, details = ?, node_key_hash = ?, enrolled_at = ?,
			last_seen = MAX(last_seen, ?) WHERE id = ?`,
			h.Identifier, h.Hostname, h.Platform, h.OSName, h.OSPlatform, h.OSVersion, h.OsqueryVersion,
			nullJSON(h.Details), e.NodeKeyHash, ts(now), ts(now), id)
		return err
	})
	if err != nil {
		return store.Host{}, wrap("enroll host", err)
	}
	return s.hostFrom(ctx, s.w, id)
}

func (s *Store) hostFrom(ctx context.Context, db *sql.DB, id int64) (store.Host, error) {
	h, err := scanHost(db.QueryRowContext(ctx, `SELECT `+hostColumns+` FROM `+hostTables+` WHERE h.id = ?`, id))
	return h, wrap("host", err)
}

// Host implements store.Hosts.
func (s *Store) Host(ctx context.Context, id int64) (store.Host, error) {
	return s.hostFrom(ctx, s.r, id)
}

// HostByNodeKey implements store.Hosts.
func (s *Store) HostByNodeKey(ctx context.Context, hash []byte) (store.Host, error) {
	if len(hash) == 0 {
		return store.Host{}, fmt.Errorf("sqlite: host by node key: %w", store.ErrNotFound)
	}
	h, err := scanHost(s.readRow(ctx, qHostByNodeKey, hash))
	return h, wrap("host by node key", err)
}

// ListHosts implements store.Hosts.
func (s *Store) ListHosts(ctx context.Context, f store.HostFilter) ([]store.Host, error) {
	var where []string
	var args []any
	// Lists go in as one JSON array each: a fleet's worth of ids as separate
	// parameters passes SQLite's limit of 32,766 variables.
	if len(f.IDs) > 0 {
		where = append(where, "h.id IN (SELECT value FROM json_each(?))")
		args = append(args, jsonArray(f.IDs))
	}
	if len(f.Platforms) > 0 {
		where = append(where, "h.platform IN (SELECT value FROM json_each(?))")
		args = append(args, jsonArray(f.Platforms))
	}
	if !f.SeenSince.IsZero() {
		where = append(where, hostLastSeen+" >= ?")
		args = append(args, ts(f.SeenSince))
	}
	q := `SELECT ` + hostColumns + ` FROM ` + hostTables
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY h.id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list hosts", err)
	}
	defer rows.Close()
	var out []store.Host
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			return nil, wrap("list hosts", err)
		}
		out = append(out, h)
	}
	return out, wrap("list hosts", rows.Err())
}

// TouchHosts implements store.Hosts.
func (s *Store) TouchHosts(ctx context.Context, seen map[int64]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st, err := s.txStmt(ctx, tx, qTouchHost)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, id := range slices.Sorted(maps.Keys(seen)) { // in key order: page by page
			if _, err := st.ExecContext(ctx, ts(seen[id]), id); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("touch hosts", err)
}

// RevokeNodeKey implements store.Hosts.
func (s *Store) RevokeNodeKey(ctx context.Context, hostID int64) error {
	res, err := s.w.ExecContext(ctx, `UPDATE hosts SET node_key_hash = NULL WHERE id = ?`, hostID)
	if err != nil {
		return wrap("revoke node key", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: revoke node key: %w", store.ErrNotFound)
	}
	return nil
}
