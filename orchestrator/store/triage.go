package store

import (
	"context"
	"time"
)

// Anomaly triage states.
const (
	TriageOpen         = "open"
	TriageAcknowledged = "acknowledged"
	TriageSuppressed   = "suppressed" // the stack becomes part of the baseline
	TriageResolved     = "resolved"
)

// ValidTriageState reports whether s is a triage state.
func ValidTriageState(s string) bool {
	switch s {
	case TriageOpen, TriageAcknowledged, TriageSuppressed, TriageResolved:
		return true
	}
	return false
}

// Triage is an analyst's decision about one stack (a query's stack key).
type Triage struct {
	Query  string
	Key    string
	State  string
	Reason string
	By     string
	At     time.Time
}

// Triages stores triage decisions; every change is kept in a history.
type Triages interface {
	// SetTriage records t as the stack's current state and appends it to the history.
	SetTriage(ctx context.Context, t Triage) error
	// TriageStates returns the current state of every triaged stack.
	TriageStates(ctx context.Context) ([]Triage, error)
	// TriageHistory returns a stack's changes, oldest first.
	TriageHistory(ctx context.Context, query, key string) ([]Triage, error)
}
