package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// AddEnrollSecret implements store.Secrets.
func (s *Store) AddEnrollSecret(ctx context.Context, sec store.EnrollSecret) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO enroll_secrets (name, hash, created_at) VALUES (?,?,?)
		ON CONFLICT (name) DO NOTHING`, sec.Name, sec.Hash, ts(sec.CreatedAt))
	if err != nil {
		return wrap("add enroll secret", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: add enroll secret %q: %w", sec.Name, store.ErrConflict)
	}
	return nil
}

// EnrollSecrets implements store.Secrets.
func (s *Store) EnrollSecrets(ctx context.Context) ([]store.EnrollSecret, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, hash, created_at FROM enroll_secrets ORDER BY name`)
	if err != nil {
		return nil, wrap("enroll secrets", err)
	}
	defer rows.Close()
	var out []store.EnrollSecret
	for rows.Next() {
		var e store.EnrollSecret
		var c int64
		if err := rows.Scan(&e.Name, &e.Hash, &c); err != nil {
			return nil, wrap("enroll secrets", err)
		}
		e.CreatedAt = fromTS(c)
		out = append(out, e)
	}
	return out, wrap("enroll secrets", rows.Err())
}

// DeleteEnrollSecret implements store.Secrets.
func (s *Store) DeleteEnrollSecret(ctx context.Context, name string) error {
	// One statement on the one writer: two deletes at once cannot both see the
	// other secret and leave none.
	res, err := s.w.ExecContext(ctx, `DELETE FROM enroll_secrets WHERE name = ?
		AND EXISTS (SELECT 1 FROM enroll_secrets WHERE name <> ?)`, name, name)
	if err != nil {
		return wrap("delete enroll secret", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		if err := s.w.QueryRowContext(ctx, `SELECT 1 FROM enroll_secrets WHERE name = ?`, name).Scan(&one); err == nil {
			return fmt.Errorf("sqlite: delete enroll secret: the last one: %w", store.ErrConflict)
		}
		return fmt.Errorf("sqlite: delete enroll secret: %w", store.ErrNotFound)
	}
	return nil
}

const tokenColumns = `id, name, role, hash, created_at, expires_at, revoked_at`

func scanToken(r scanner) (store.Token, error) {
	var t store.Token
	var c, e, rv int64
	err := r.Scan(&t.ID, &t.Name, &t.Role, &t.Hash, &c, &e, &rv)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromTS(c), fromTS(e), fromTS(rv)
	return t, err
}

// CreateToken implements store.Tokens.
func (s *Store) CreateToken(ctx context.Context, t store.Token) (store.Token, error) {
	t.RevokedAt = time.Time{}
	err := s.w.QueryRowContext(ctx, `INSERT INTO api_tokens (name, role, hash, created_at, expires_at)
		VALUES (?,?,?,?,?) RETURNING id`, t.Name, t.Role, t.Hash, ts(t.CreatedAt), ts(t.ExpiresAt)).Scan(&t.ID)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return store.Token{}, fmt.Errorf("sqlite: create token: %w", store.ErrConflict)
		}
		return store.Token{}, wrap("create token", err)
	}
	t.CreatedAt, t.ExpiresAt = fromTS(ts(t.CreatedAt)), fromTS(ts(t.ExpiresAt))
	return t, nil
}

// TokenByHash implements store.Tokens.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ?`, hash))
	return t, wrap("token by hash", err)
}

// ListTokens implements store.Tokens.
func (s *Store) ListTokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, wrap("list tokens", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, wrap("list tokens", err)
		}
		out = append(out, t)
	}
	return out, wrap("list tokens", rows.Err())
}

// RevokeToken implements store.Tokens.
func (s *Store) RevokeToken(ctx context.Context, id int64, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, ts(now), id)
	if err != nil {
		return wrap("revoke token", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: revoke token: %w", store.ErrNotFound)
	}
	return nil
}
