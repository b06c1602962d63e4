package store

import (
	"context"
	"encoding/json"
	"time"
)

// AuditEntry records who did what: a live query, a triage or admin action.
type AuditEntry struct {
	ID      int64
	Time    time.Time
	Actor   string // token name
	TokenID int64
	Role    string
	Remote  string // client address as the server saw it
	// Action is a stable dotted name: live_query.create, token.revoke, …
	Action string
	// Target names what the action was on (a query, token, secret or host id).
	Target string
	SQL    string          // the SQL of a live query, "" otherwise
	Detail json.RawMessage // targets and other parameters (JSON object), may be nil
}

// AuditFilter selects audit entries; zero fields select everything.
type AuditFilter struct {
	Actor    string
	Action   string
	Since    time.Time // Time >= Since
	BeforeID int64     // ID < BeforeID (paging backwards)
	Limit    int
}

// Audit stores the audit log. Entries are only ever added.
type Audit interface {
	// AddAudit stores e (ID ignored) and returns it with its ID.
	AddAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// AuditLog returns matching entries, newest first.
	AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}
