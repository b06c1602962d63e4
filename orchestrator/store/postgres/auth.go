package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// AddEnrollSecret implements store.Secrets.
func (s *Store) AddEnrollSecret(ctx context.Context, sec store.EnrollSecret) error {
	tag, err := s.db.Exec(ctx, `INSERT INTO enroll_secrets (name, hash, created_at) VALUES ($1,$2,$3)
		ON CONFLICT (name) DO NOTHING`, sec.Name, sec.Hash, ts(sec.CreatedAt))
	if err != nil {
		return wrap("add enroll secret", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: add enroll secret %q: %w", sec.Name, store.ErrConflict)
	}
	return nil
}

// EnrollSecrets implements store.Secrets.
func (s *Store) EnrollSecrets(ctx context.Context) ([]store.EnrollSecret, error) {
	rows, err := s.db.Query(ctx, `SELECT name, hash, created_at FROM enroll_secrets ORDER BY name`)
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
	// The table lock orders concurrent deletes: without it two could each see the
	// other secret and leave none.
	var gone, exists bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE enroll_secrets IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM enroll_secrets WHERE name = $1
			AND EXISTS (SELECT 1 FROM enroll_secrets WHERE name <> $1)`, name)
		if err != nil {
			return err
		}
		if gone = tag.RowsAffected() > 0; !gone {
			return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM enroll_secrets WHERE name = $1)`, name).Scan(&exists)
		}
		return nil
	})
	switch {
	case err != nil:
		return wrap("delete enroll secret", err)
	case exists:
		return fmt.Errorf("postgres: delete enroll secret: the last one: %w", store.ErrConflict)
	case !gone:
		return fmt.Errorf("postgres: delete enroll secret: %w", store.ErrNotFound)
	}
	return nil
}

const tokenColumns = `id, name, role, hash, created_at, expires_at, revoked_at`

func scanToken(r pgx.Row) (store.Token, error) {
	var t store.Token
	var c, e, rv int64
	err := r.Scan(&t.ID, &t.Name, &t.Role, &t.Hash, &c, &e, &rv)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromTS(c), fromTS(e), fromTS(rv)
	return t, err
}

// CreateToken implements store.Tokens.
func (s *Store) CreateToken(ctx context.Context, t store.Token) (store.Token, error) {
	t.RevokedAt = time.Time{}
	err := s.db.QueryRow(ctx, `INSERT INTO api_tokens (name, role, hash, created_at, expires_at)
		VALUES ($1,$2,$3,$4,$5) RETURNING id`, t.Name, t.Role, t.Hash, ts(t.CreatedAt), ts(t.ExpiresAt)).Scan(&t.ID)
	if err != nil {
		if isUnique(err) {
			return store.Token{}, fmt.Errorf("postgres: create token: %w", store.ErrConflict)
		}
		return store.Token{}, wrap("create token", err)
	}
	t.CreatedAt, t.ExpiresAt = fromTS(ts(t.CreatedAt)), fromTS(ts(t.ExpiresAt))
	return t, nil
}

// TokenByHash implements store.Tokens.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	t, err := scanToken(s.db.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1`, hash))
	return t, wrap("token by hash", err)
}

// ListTokens implements store.Tokens.
func (s *Store) ListTokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.db.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
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
	tag, err := s.db.Exec(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, ts(now), id)
	if err != nil {
		return wrap("revoke token", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: revoke token: %w", store.ErrNotFound)
	}
	return nil
}
