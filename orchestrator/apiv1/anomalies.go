package apiv1

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exechunt/exechunt/orchestrator/csvsafe"
)

// Triage states of an anomaly.
const (
	TriageOpen         = "open"
	TriageAcknowledged = "acknowledged"
	TriageSuppressed   = "suppressed" // the stack becomes part of the baseline
	TriageResolved     = "resolved"
)

// TriageStates are the triage states, in the order a hunter works through them.
var TriageStates = []string{TriageOpen, TriageAcknowledged, TriageSuppressed, TriageResolved}

// ValidTriageState reports whether s is a triage state.
func ValidTriageState(s string) bool { return slices.Contains(TriageStates, s) }

// Example is one evidence row of a stack.
type Example struct {
	Host string            `json:"host"`
	Time time.Time         `json:"time"`
	Row  map[string]string `json:"row"`
}

// Stack is one group of result rows across the fleet: the rows whose stack
// columns (the queries' "stack" keys) hold the same values, across every hunt
// query that stacks by those columns.
type Stack struct {
	Query      string            `json:"query"`   // "pack/query": the first query that returned it
	Key        string            `json:"key"`     // the stack column values joined by \x1f, in Query's column order
	Queries    []string          `json:"queries"` // every query that returned it, sorted
	Values     map[string]string `json:"values"`
	HostCount  int               `json:"host_count"`
	Rows       int64             `json:"rows"`
	FirstSeen  time.Time         `json:"first_seen"`
	LastSeen   time.Time         `json:"last_seen"`
	MaxScore   int               `json:"max_score"`
	Indicators []string          `json:"indicators,omitempty"`
	Examples   []Example         `json:"examples"`
}

// Text is the text suppression-rule patterns match: "column=value | …" in
// column order, as the API's CSV and the CLI show a stack.
func (s Stack) Text() string {
	keys := slices.Sorted(maps.Keys(s.Values))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + s.Values[k]
	}
	return strings.Join(parts, " | ")
}

// Label names a stack for people: "parent → child" when it stacks by
// parent_name and name, followed by the other stack values ("column=value",
// sorted by column); otherwise the values as Text shows them.
func (s Stack) Label() string {
	parent, okParent := s.Values["parent_name"]
	name, okName := s.Values["name"]
	if !okParent || !okName {
		return s.Text()
	}
	rest := Stack{Values: map[string]string{}}
	for k, v := range s.Values {
		if k != "parent_name" && k != "name" {
			rest.Values[k] = v
		}
	}
	label := orDash(parent) + " → " + orDash(name)
	if len(rest.Values) > 0 {
		label += " | " + rest.Text()
	}
	return label
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Anomaly is a stack worth a hunter's look: the one anomaly type of exechunt.
// The stacker (orchestrator/stack) fills the stack, its id, rank, flags and
// reasons; the anomaly service (orchestrator/anomalies) adds the hunts that fed
// it, the learning mark and the triage state; the API serves it (GET
// /api/v1/anomalies, and every stack of GET /api/v1/stacks/{query} with the same
// rank and flags); the CLI and the web UI show it.
type Anomaly struct {
	Stack
	// ID is short and stable: 10 base32 characters of a hash of the stack
	// columns and values. The API also takes the numeric ids of earlier
	// versions (a hash of one query and the key).
	ID         string  `json:"id"`
	Technique  string  `json:"technique"`
	Severity   string  `json:"severity"`
	Prevalence float64 `json:"prevalence"` // host count / hosts that answered
	Answered   int     `json:"answered"`
	Rare       bool    `json:"rare"`
	New        bool    `json:"new"`
	HighScore  bool    `json:"high_score"`
	// Learning: the learning window runs, so nothing is new yet; rare and
	// high-scoring stacks are listed all the same.
	Learning bool     `json:"learning,omitempty"`
	Rank     float64  `json:"rank"` // 0..1, higher first
	Reasons  []string `json:"reasons"`
	Hunts    []string `json:"hunts"`
	Hosts    []string `json:"hosts"`
	// The triage: State, and who set it (or which rule) when, and why.
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"`
	At     time.Time `json:"at,omitempty"`
}

// WriteAnomalies writes anomalies (or stacks) in one of the export formats the
// API (GET /api/v1/anomalies?format=) and the CLI (exechunt anomalies --format)
// share: "json" (an indented array), "jsonl" (one anomaly a line) or "csv" (a
// header, then a formula-safe row per anomaly).
func WriteAnomalies(w io.Writer, format string, list []Anomaly) error {
	switch format {
	case "json":
		if list == nil {
			list = []Anomaly{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	case "jsonl":
		enc := json.NewEncoder(w)
		for _, a := range list {
			if err := enc.Encode(a); err != nil {
				return err
			}
		}
		return nil
	case "csv":
		cw := csvsafe.NewWriter(w)
		cw.Write([]string{"id", "rank", "state", "query", "technique", "severity", "stack", "hosts", "prevalence",
			"max_score", "first_seen", "last_seen", "reasons", "queries", "hunts"})
		for _, a := range list {
			cw.Write([]string{a.ID, strconv.FormatFloat(a.Rank, 'f', 3, 64), a.State, a.Query,
				a.Technique, a.Severity, a.Text(), strconv.Itoa(a.HostCount), strconv.FormatFloat(a.Prevalence, 'f', 4, 64),
				strconv.Itoa(a.MaxScore), a.FirstSeen.Format(time.RFC3339), a.LastSeen.Format(time.RFC3339),
				strings.Join(a.Reasons, "; "), strings.Join(a.Queries, " "), strings.Join(a.Hunts, " ")})
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("bad format %q (json, jsonl, csv)", format)
}

// TriageRequest is the body of POST /api/v1/anomalies/{id}/triage; suppressing
// needs a reason.
type TriageRequest struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// SuppressionRule is a suppression rule as the API takes and returns it.
type SuppressionRule struct {
	ID      int64    `json:"id,omitempty"`
	Query   string   `json:"query,omitempty"`
	Pattern string   `json:"pattern"`
	Hosts   []string `json:"hosts,omitempty"`
	Reason  string   `json:"reason"`
	By      string   `json:"by,omitempty"`
	At      string   `json:"at,omitempty"`
}

// PathAnomalyID is the {id} of an anomaly route (API) or page (web UI), checked
// before any lookup: a short id (10 base32 characters) or a legacy numeric one,
// never empty or longer than 20 characters; else a 400 StatusError.
func PathAnomalyID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > 20 {
		return "", Errorf(http.StatusBadRequest, "bad anomaly id %q", id)
	}
	return id, nil
}
