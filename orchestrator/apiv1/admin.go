package apiv1

import (
	"encoding/json"
	"time"
)

// Token is an API token as the API returns it (never its hash).
type Token struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Valid     bool       `json:"valid"`
}

// CreateTokenRequest is the body of POST /api/v1/tokens.
type CreateTokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// ExpiresIn is a Go duration ("720h"); empty means the token never expires.
	ExpiresIn string `json:"expires_in,omitempty"`
}

// CreatedToken is the answer to POST /api/v1/tokens: the only time the token
// itself is shown.
type CreatedToken struct {
	Token  Token  `json:"token"`
	Secret string `json:"secret"`
}

// EnrollSecret is an enroll secret as the API lists it (never the secret).
type EnrollSecret struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// AddSecretRequest is the body of POST /api/v1/enroll-secrets. Without Secret,
// a random one is generated.
type AddSecretRequest struct {
	Name   string `json:"name"`
	Secret string `json:"secret,omitempty"`
}

// AddedSecret is the answer to POST /api/v1/enroll-secrets: the only time the
// secret is shown.
type AddedSecret struct {
	Name   string `json:"name"`
	Secret string `json:"secret"`
}

// AuditEntry is an audit log entry as the API returns it.
type AuditEntry struct {
	ID      int64           `json:"id"`
	Time    time.Time       `json:"time"`
	Actor   string          `json:"actor"`
	TokenID int64           `json:"token_id"`
	Role    string          `json:"role"`
	Remote  string          `json:"remote"`
	Action  string          `json:"action"`
	Target  string          `json:"target,omitempty"`
	SQL     string          `json:"sql,omitempty"`
	Detail  json.RawMessage `json:"detail,omitempty"`
}

// Tokens is GET /api/v1/tokens.
type Tokens struct {
	Tokens []Token `json:"tokens"`
}

// EnrollSecrets is GET /api/v1/enroll-secrets.
type EnrollSecrets struct {
	Secrets []EnrollSecret `json:"enroll_secrets"`
}

// AuditLog is GET /api/v1/audit, newest first.
type AuditLog struct {
	Entries []AuditEntry `json:"entries"`
}
