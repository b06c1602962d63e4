package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// AddAudit implements store.Audit.
func (s *Store) AddAudit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	err := s.db.QueryRow(ctx, `INSERT INTO audit_log ("time", actor, token_id, role, remote, action, target,
		sql, detail) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id`, ts(e.Time), e.Actor, e.TokenID, e.Role, e.Remote,
		e.Action, e.Target, e.SQL, nullJSON(e.Detail)).Scan(&e.ID)
	if err != nil {
		return store.AuditEntry{}, wrap("add audit", err)
	}
	e.Time = fromTS(ts(e.Time))
	return e, nil
}

// AuditLog implements store.Audit.
func (s *Store) AuditLog(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	var where []string
	var a args
	if f.Actor != "" {
		where = append(where, "actor = "+a.add(f.Actor))
	}
	if f.Action != "" {
		where = append(where, "action = "+a.add(f.Action))
	}
	if !f.Since.IsZero() {
		where = append(where, `"time" >= `+a.add(ts(f.Since)))
	}
	if f.BeforeID > 0 {
		where = append(where, "id < "+a.add(f.BeforeID))
	}
	q := `SELECT id, "time", actor, token_id, role, remote, action, target, sql, detail FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.Query(ctx, q, a...)
	if err != nil {
		return nil, wrap("audit log", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var t int64
		var detail *string
		if err := rows.Scan(&e.ID, &t, &e.Actor, &e.TokenID, &e.Role, &e.Remote, &e.Action, &e.Target, &e.SQL,
			&detail); err != nil {
			return nil, wrap("audit log", err)
		}
		e.Time = fromTS(t)
		if detail != nil {
			e.Detail = []byte(*detail)
		}
		out = append(out, e)
	}
	return out, wrap("audit log", rows.Err())
}
