package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// AcquireLease implements store.Leases: one upsert that takes the row only when
// it is free, expired or already ours. On PostgreSQL (READ COMMITTED) ON CONFLICT
// DO UPDATE locks the row and evaluates the WHERE on its latest version, so two
// replicas racing for an expired lease cannot both win.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return false, s.errorf("acquire lease: name, holder and a positive ttl are required")
	}
	var got string
	err := s.QueryRow(ctx, s.w, `INSERT INTO leases (name, holder, expires_at) VALUES (?,?,?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= ?
		RETURNING holder`, name, holder, TS(now.Add(ttl)), TS(now)).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, s.Wrap("acquire lease", err)
	}
	return got == holder, nil
}

// ReleaseLease implements store.Leases.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.Exec(ctx, s.w, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
	return s.Wrap("release lease", err)
}

// Lease implements store.Leases.
func (s *Store) Lease(ctx context.Context, name string) (store.Lease, error) {
	l := store.Lease{Name: name}
	var exp int64
	err := s.QueryRow(ctx, s.r, `SELECT holder, expires_at FROM leases WHERE name = ?`, name).Scan(&l.Holder, &exp)
	if err != nil {
		return store.Lease{}, s.Wrap("lease", err)
	}
	l.Expires = FromTS(exp)
	return l, nil
}
