// Package apiv1 is the operator API's contract (/api/v1/…): the JSON bodies the
// server answers and takes, the roles of its tokens and the triage states a
// client may set. The state words the server only reports are listed on the
// fields that carry them; clients print them, and the web UI's stylesheet gives
// each its look.
// The server (orchestrator/operatorapi), the CLI's client (orchestrator/client)
// and the web UI (orchestrator/webui) all use these types, so a field is added
// in one place and no client decodes a body its own way.
//
// It is a leaf package (the standard library, orchestrator/targeting and
// orchestrator/csvsafe only): a client of the API must not link the store, the
// stacker, the scheduler or the hunt service.
package apiv1

import "fmt"

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
}

// StatusError is an error a handler answers with: the HTTP status and the text
// shown (the API server's JSON error, the web UI's error page).
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string { return e.Message }

// Errorf returns a *StatusError with the formatted text.
func Errorf(status int, format string, a ...any) error {
	return &StatusError{Status: status, Message: fmt.Sprintf(format, a...)}
}

// Whoami is GET /api/v1/whoami: the token's name and role.
type Whoami struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// Roles, from least to most privileged. A route needs a role; any role above it
// may call it too.
const (
	RoleViewer = "viewer" // read hosts, queries, results, hunts and anomalies
	RoleHunter = "hunter" // also run and cancel live queries, run hunts, triage
	RoleAdmin  = "admin"  // everything: tokens, enroll secrets, node keys, hunt definitions, audit
)

var roleRank = map[string]int{RoleViewer: 1, RoleHunter: 2, RoleAdmin: 3}

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return roleRank[r] > 0 }

// RoleAllows reports whether a token of role have may do what needs role need.
// An unknown role may do nothing.
func RoleAllows(have, need string) bool {
	return roleRank[have] > 0 && roleRank[have] >= roleRank[need]
}
