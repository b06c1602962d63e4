package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exechunt/exechunt/orchestrator/store"
)

const hostColumns = `id, identifier, hostname, uuid, platform, os_name, os_platform, os_version,
	osquery_version, details, enrolled_at, first_seen, last_seen`

func scanHost(r pgx.Row) (store.Host, error) {
	var h store.Host
	var details *string
	var enrolled, first, last int64
	err := r.Scan(&h.ID, &h.Identifier, &h.Hostname, &h.UUID, &h.Platform, &h.OSName, &h.OSPlatform,
		&h.OSVersion, &h.OsqueryVersion, &details, &enrolled, &first, &last)
	if details != nil {
		h.Details = []byte(*details)
	}
	h.EnrolledAt, h.FirstSeen, h.LastSeen = fromTS(enrolled), fromTS(first), fromTS(last)
	return h, err
}

// EnrollHost implements store.Hosts. Enrollments of the same host are serialised
// by a transaction-scoped advisory lock on its UUID (or identifier), so two
// concurrent enrollments never create two rows.
func (s *Store) EnrollHost(ctx context.Context, e store.Enrollment, now time.Time) (store.Host, error) {
	if len(e.NodeKeyHash) == 0 {
		return store.Host{}, errors.New("postgres: enroll host: empty node key hash")
	}
	h := e.Host
	var id int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		lockKey := "uuid:" + h.UUID
		if h.UUID == "" {
			lockKey = "identifier:" + h.Identifier
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "exechunt.enroll."+lockKey); err != nil {
			return err
		}
		var err error
		if h.UUID != "" {
			err = tx.QueryRow(ctx, `SELECT id FROM hosts WHERE uuid = $1 ORDER BY id LIMIT 1`, h.UUID).Scan(&id)
		} else {
			err = tx.QueryRow(ctx, `SELECT id FROM hosts WHERE uuid = '' AND identifier = $1 ORDER BY id LIMIT 1`, h.Identifier).Scan(&id)
		}
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return tx.QueryRow(ctx, `INSERT INTO hosts (identifier, hostname, uuid, platform, os_name,
				os_platform, os_version, osquery_version, details, node_key_hash, enrolled_at, first_seen, last_seen)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11,$11) RETURNING id`,
				h.Identifier, h.Hostname, h.UUID, h.Platform, h.OSName, h.OSPlatform, h.OSVersion, h.OsqueryVersion,
				nullJSON(h.Details), e.NodeKeyHash, ts(now)).Scan(&id)
		case err != nil:
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE hosts SET identifier = $1, hostname = $2, platform = $3, os_name = $4,
			os_platform = $5, os_version = $6, osquery_version = $7, details = $8, node_key_hash = $9, enrolled_at = $10,
			last_seen = GREATEST(last_seen, $10) WHERE id = $11`,
			h.Identifier, h.Hostname, h.Platform, h.OSName, h.OSPlatform, h.OSVersion, h.OsqueryVersion,
			nullJSON(h.Details), e.NodeKeyHash, ts(now), id)
		return err
	})
	if err != nil {
		return store.Host{}, wrap("enroll host", err)
	}
	return s.Host(ctx, id)
}

// Host implements store.Hosts.
func (s *Store) Host(ctx context.Context, id int64) (store.Host, error) {
	h, err := scanHost(s.db.QueryRow(ctx, `SELECT `+hostColumns+` FROM hosts WHERE id = $1`, id))
	return h, wrap("host", err)
}

// HostByNodeKey implements store.Hosts.
func (s *Store) HostByNodeKey(ctx context.Context, hash []byte) (store.Host, error) {
	if len(hash) == 0 {
		return store.Host{}, fmt.Errorf("postgres: host by node key: %w", store.ErrNotFound)
	}
	h, err := scanHost(s.db.QueryRow(ctx, `SELECT `+hostColumns+` FROM hosts WHERE node_key_hash = $1`, hash))
	return h, wrap("host by node key", err)
}

// ListHosts implements store.Hosts.
func (s *Store) ListHosts(ctx context.Context, f store.HostFilter) ([]store.Host, error) {
	var where []string
	var a args
	if len(f.IDs) > 0 {
		where = append(where, "id = ANY("+a.add(f.IDs)+")")
	}
	if len(f.Platforms) > 0 {
		where = append(where, "platform = ANY("+a.add(f.Platforms)+")")
	}
	if !f.SeenSince.IsZero() {
		where = append(where, "last_seen >= "+a.add(ts(f.SeenSince)))
	}
	q := `SELECT ` + hostColumns + ` FROM hosts`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.Query(ctx, q, a...)
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

// TouchHosts implements store.Hosts, in one statement for the whole batch.
func (s *Store) TouchHosts(ctx context.Context, seen map[int64]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(seen))
	times := make([]int64, 0, len(seen))
	for id, t := range seen {
		ids, times = append(ids, id), append(times, ts(t))
	}
	_, err := s.db.Exec(ctx, `UPDATE hosts SET last_seen = v.t
		FROM unnest($1::bigint[], $2::bigint[]) AS v(id, t)
		WHERE hosts.id = v.id AND hosts.last_seen < v.t`, ids, times)
	return wrap("touch hosts", err)
}

// RevokeNodeKey implements store.Hosts.
func (s *Store) RevokeNodeKey(ctx context.Context, hostID int64) error {
	tag, err := s.db.Exec(ctx, `UPDATE hosts SET node_key_hash = NULL WHERE id = $1`, hostID)
	if err != nil {
		return wrap("revoke node key", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: revoke node key: %w", store.ErrNotFound)
	}
	return nil
}
