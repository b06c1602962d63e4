package store

import (
	"context"
	"time"
)

// Triage is an analyst's decision about one stack (a query's stack key).
type Triage struct {
	Query  string
	Key    string
	State  string
	Reason string
	By     string
	At     time.Time
}

// SuppressionRule marks every stack that matches it as normal (baseline): stacks of
// the queries matching Query (a glob; "" matches all) whose "column=value | …" text
// matches Pattern (a glob), seen only on Hosts (empty: on any hosts).
type SuppressionRule struct {
	ID      int64
	Query   string
	Pattern string
	Hosts   []string
	Reason  string
	By      string
	At      time.Time
}

// Triages stores triage decisions; every change is kept in a history.
type Triages interface {
	// AddSuppressionRule stores r (ID ignored) and returns it with its ID.
	AddSuppressionRule(ctx context.Context, r SuppressionRule) (SuppressionRule, error)
	SuppressionRules(ctx context.Context) ([]SuppressionRule, error)
	DeleteSuppressionRule(ctx context.Context, id int64) error
	// SetTriage records t as the stack's current state and appends it to the history.
	SetTriage(ctx context.Context, t Triage) error
	// TriageStates returns the current state of every triaged stack.
	TriageStates(ctx context.Context) ([]Triage, error)
	// TriageHistory returns a stack's changes, oldest first.
	TriageHistory(ctx context.Context, query, key string) ([]Triage, error)
}
