package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// scanHost reads the columns of statements.hostColumns.
func scanHost(r scanner) (store.Host, error) {
	var h store.Host
	var details sql.NullString
	var enrolled, first, last int64
	err := r.Scan(&h.ID, &h.Identifier, &h.Hostname, &h.UUID, &h.Platform, &h.OSName, &h.OSPlatform,
		&h.OSVersion, &h.OsqueryVersion, &details, &enrolled, &first, &last)
	h.Details = fromNullJSON(details)
	h.EnrolledAt, h.FirstSeen, h.LastSeen = FromTS(enrolled), FromTS(first), FromTS(last)
	return h, err
}

// EnrollHost implements store.Hosts. Enrollments of the same host are
// serialised (the dialect's lock on its UUID or identifier, or the one writer),
// so two concurrent enrollments never create two rows.
func (s *Store) EnrollHost(ctx context.Context, e store.Enrollment, now time.Time) (store.Host, error) {
	if len(e.NodeKeyHash) == 0 {
		return store.Host{}, s.errorf("enroll host: empty node key hash")
	}
	h := e.Host
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		key := "uuid:" + h.UUID
		if h.UUID == "" {
			key = "identifier:" + h.Identifier
		}
		if err := s.lock(ctx, tx, "enroll."+key); err != nil {
			return err
		}
		var err error
		if h.UUID != "" {
			id, err = scanID(s.QueryRow(ctx, tx, `SELECT id FROM hosts WHERE uuid = ? ORDER BY id LIMIT 1`, h.UUID))
		} else {
			id, err = scanID(s.QueryRow(ctx, tx, `SELECT id FROM hosts WHERE uuid = '' AND identifier = ?
				ORDER BY id LIMIT 1`, h.Identifier))
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			id, err = scanID(s.QueryRow(ctx, tx, `INSERT INTO hosts (identifier, hostname, uuid, platform, os_name,
				os_platform, os_version, osquery_version, details, node_key_hash, enrolled_at, first_seen, last_seen)
				VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
				h.Identifier, h.Hostname, h.UUID, h.Platform, h.OSName, h.OSPlatform, h.OSVersion, h.OsqueryVersion,
				nullJSON(h.Details), e.NodeKeyHash, TS(now), TS(now), TS(now)))
			return err
		case err != nil:
			return err
		}
		_, err = s.Exec(ctx, tx, `UPDATE hosts SET identifier = ?, hostname = ?, platform = ?, os_name = ?,
			os_platform = ?, os_version = ?, osquery_version = ?, details = ?, node_key_hash = ?, enrolled_at = ?,
			last_seen = `+s.d.Greatest+`(last_seen, ?) WHERE id = ?`,
			h.Identifier, h.Hostname, h.Platform, h.OSName, h.OSPlatform, h.OSVersion, h.OsqueryVersion,
			nullJSON(h.Details), e.NodeKeyHash, TS(now), TS(now), id)
		return err
	})
	if err != nil {
		return store.Host{}, s.Wrap("enroll host", err)
	}
	return s.host(ctx, s.w, id)
}

func (s *Store) host(ctx context.Context, on Runner, id int64) (store.Host, error) {
	h, err := scanHost(s.QueryRow(ctx, on, `SELECT `+s.q.hostColumns+` FROM `+s.d.HostsFrom+` WHERE h.id = ?`, id))
	return h, s.Wrap("host", err)
}

// Host implements store.Hosts.
func (s *Store) Host(ctx context.Context, id int64) (store.Host, error) {
	return s.host(ctx, s.r, id)
}

// HostByNodeKey implements store.Hosts.
func (s *Store) HostByNodeKey(ctx context.Context, hash []byte) (store.Host, error) {
	if len(hash) == 0 {
		return store.Host{}, s.errorf("host by node key: %w", store.ErrNotFound)
	}
	h, err := scanHost(s.QueryRow(ctx, s.r, s.q.hostByNodeKey, hash))
	return h, s.Wrap("host by node key", err)
}

// ListHosts implements store.Hosts.
func (s *Store) ListHosts(ctx context.Context, f store.HostFilter) ([]store.Host, error) {
	var w where
	w.addIf(len(f.IDs) > 0, s.in("h.id", "bigint"), s.d.List(f.IDs))
	w.addIf(len(f.Platforms) > 0, s.in("h.platform", "text"), s.d.List(f.Platforms))
	w.addIf(!f.SeenSince.IsZero(), s.d.HostLastSeen+" >= ?", TS(f.SeenSince))
	rows, err := s.Query(ctx, s.r, `SELECT `+s.q.hostColumns+` FROM `+s.d.HostsFrom+w.String()+` ORDER BY h.id`+
		limitTo(f.Limit), w.args...)
	out, err := collect(rows, err, scanHost)
	return out, s.Wrap("list hosts", err)
}

// RevokeNodeKey implements store.Hosts.
func (s *Store) RevokeNodeKey(ctx context.Context, hostID int64) error {
	res, err := s.Exec(ctx, s.w, `UPDATE hosts SET node_key_hash = NULL WHERE id = ?`, hostID)
	return s.affected("revoke node key", res, err, store.ErrNotFound)
}
