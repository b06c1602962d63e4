package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// AddEnrollSecret implements store.Secrets.
func (s *Store) AddEnrollSecret(ctx context.Context, sec store.EnrollSecret) error {
	res, err := s.Exec(ctx, s.w, `INSERT INTO enroll_secrets (name, hash, created_at) VALUES (?,?,?)
		ON CONFLICT (name) DO NOTHING`, sec.Name, sec.Hash, TS(sec.CreatedAt))
	return s.affected("add enroll secret "+sec.Name, res, err, store.ErrConflict)
}

// EnrollSecrets implements store.Secrets.
func (s *Store) EnrollSecrets(ctx context.Context) ([]store.EnrollSecret, error) {
	rows, err := s.Query(ctx, s.r, `SELECT name, hash, created_at FROM enroll_secrets ORDER BY name`)
	out, err := collect(rows, err, func(r scanner) (store.EnrollSecret, error) {
		var e store.EnrollSecret
		var c int64
		err := r.Scan(&e.Name, &e.Hash, &c)
		e.CreatedAt = FromTS(c)
		return e, err
	})
	return out, s.Wrap("enroll secrets", err)
}

// DeleteEnrollSecret implements store.Secrets. Concurrent deletes are ordered
// (the dialect's lock on the table, or the one writer): without that two could
// each see the other secret and leave none.
func (s *Store) DeleteEnrollSecret(ctx context.Context, name string) error {
	var gone, exists bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lock(ctx, tx, "enroll_secrets"); err != nil {
			return err
		}
		res, err := s.Exec(ctx, tx, `DELETE FROM enroll_secrets WHERE name = ?
			AND EXISTS (SELECT 1 FROM enroll_secrets WHERE name <> ?)`, name, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			gone = true
			return err
		}
		return s.QueryRow(ctx, tx, `SELECT EXISTS (SELECT 1 FROM enroll_secrets WHERE name = ?)`, name).Scan(&exists)
	})
	switch {
	case err != nil:
		return s.Wrap("delete enroll secret", err)
	case exists:
		return s.errorf("delete enroll secret: the last one: %w", store.ErrConflict)
	case !gone:
		return s.errorf("delete enroll secret: %w", store.ErrNotFound)
	}
	return nil
}

const tokenColumns = `id, name, role, hash, created_at, expires_at, revoked_at`

func scanToken(r scanner) (store.Token, error) {
	var t store.Token
	var c, e, rv int64
	err := r.Scan(&t.ID, &t.Name, &t.Role, &t.Hash, &c, &e, &rv)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = FromTS(c), FromTS(e), FromTS(rv)
	return t, err
}

// CreateToken implements store.Tokens.
func (s *Store) CreateToken(ctx context.Context, t store.Token) (store.Token, error) {
	t.RevokedAt = time.Time{}
	err := s.QueryRow(ctx, s.w, `INSERT INTO api_tokens (name, role, hash, created_at, expires_at)
		VALUES (?,?,?,?,?) RETURNING id`, t.Name, t.Role, t.Hash, TS(t.CreatedAt), TS(t.ExpiresAt)).Scan(&t.ID)
	switch {
	case err != nil && s.d.IsUnique(err):
		return store.Token{}, s.errorf("create token: %w", store.ErrConflict)
	case err != nil:
		return store.Token{}, s.Wrap("create token", err)
	}
	t.CreatedAt, t.ExpiresAt = FromTS(TS(t.CreatedAt)), FromTS(TS(t.ExpiresAt))
	return t, nil
}

// TokenByHash implements store.Tokens.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	t, err := scanToken(s.QueryRow(ctx, s.r, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ?`, hash))
	return t, s.Wrap("token by hash", err)
}

// ListTokens implements store.Tokens.
func (s *Store) ListTokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.Query(ctx, s.r, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	out, err := collect(rows, err, scanToken)
	return out, s.Wrap("list tokens", err)
}

// RevokeToken implements store.Tokens.
func (s *Store) RevokeToken(ctx context.Context, id int64, now time.Time) error {
	res, err := s.Exec(ctx, s.w, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, TS(now), id)
	return s.affected("revoke token", res, err, store.ErrNotFound)
}

// AddAudit implements store.Audit.
func (s *Store) AddAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	err := s.QueryRow(ctx, s.w, `INSERT INTO audit_log ("time", actor, token_id, role, remote, action, target,
		sql, detail) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id`, TS(e.Time), e.Actor, e.TokenID, e.Role, e.Remote,
		e.Action, e.Target, e.SQL, nullJSON(e.Detail)).Scan(&e.ID)
	if err != nil {
		return store.AuditEntry{}, s.Wrap("add audit", err)
	}
	e.Time = FromTS(TS(e.Time))
	return e, nil
}

// AuditLog implements store.Audit.
func (s *Store) AuditLog(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	var w where
	w.addIf(f.Actor != "", "actor = ?", f.Actor)
	w.addIf(f.Action != "", "action = ?", f.Action)
	w.addIf(!f.Since.IsZero(), `"time" >= ?`, TS(f.Since))
	w.addIf(f.BeforeID > 0, "id < ?", f.BeforeID)
	rows, err := s.Query(ctx, s.r, `SELECT id, "time", actor, token_id, role, remote, action, target, sql, detail
		FROM audit_log`+w.String()+` ORDER BY id DESC`+limitTo(f.Limit), w.args...)
	out, err := collect(rows, err, func(r scanner) (store.AuditEntry, error) {
		var e store.AuditEntry
		var t int64
		var detail sql.NullString
		err := r.Scan(&e.ID, &t, &e.Actor, &e.TokenID, &e.Role, &e.Remote, &e.Action, &e.Target, &e.SQL, &detail)
		e.Time, e.Detail = FromTS(t), fromNullJSON(detail)
		return e, err
	})
	return out, s.Wrap("audit log", err)
}
