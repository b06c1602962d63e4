// Package store defines what the orchestrator keeps: enrolled hosts, enroll secrets,
// API tokens, live queries with their per-host results, and result/status logs.
//
// Consumers depend on the small interfaces (Hosts, Secrets, Tokens, LiveQueries,
// Logs, Hunts, HuntRuns); a backend implements all of them as a Store. Backends are sibling packages
// (sqlite today, postgres later) that must pass the conformance suite in storetest.
//
// The contract is backend-neutral: times are UTC with microsecond precision, IDs are
// int64 assigned by the backend (except result and status rows, whose IDs are
// deterministic so a retried agent POST never duplicates a row), secrets are stored
// only as hashes computed by the caller, and "not found" is always ErrNotFound.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotFound is returned (possibly wrapped) when a requested record does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrFull is returned (wrapped, with the backend's own error) when a write failed
// because the disk or the database's size limit is full: /readyz then says so.
var ErrFull = errors.New("store: disk full")

// ErrConflict is returned when a write contradicts existing state (for example
// cancelling a live query that already finished).
var ErrConflict = errors.New("store: conflict")

// Store is everything a backend provides. Code should depend on the narrowest
// interface it needs instead.
type Store interface {
	Hosts
	Secrets
	Tokens
	LiveQueries
	Logs
	Audit
	Hunts
	HuntRuns
	Triages
	Leases
	Outbox
	// Ping checks that the backend answers.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// Host is an enrolled osquery agent.
type Host struct {
	ID         int64
	Identifier string // host_identifier sent at enrollment
	Hostname   string
	UUID       string
	// Platform is the family used for targeting: windows, darwin, linux, freebsd or
	// "" when unknown.
	Platform       string
	OSName         string // os_version.name, e.g. "Ubuntu", "Microsoft Windows 11 Pro"
	OSPlatform     string // os_version.platform, e.g. "ubuntu", "windows", "darwin"
	OSVersion      string // os_version.version
	OsqueryVersion string
	// Details is host_details as the agent sent it at its last enrollment.
	Details    json.RawMessage
	EnrolledAt time.Time // last enrollment
	FirstSeen  time.Time
	LastSeen   time.Time
}

// Enrollment is what an agent's enroll request establishes. NodeKeyHash is the
// hash of the freshly issued node key; any previous key of the same host stops
// working.
type Enrollment struct {
	Host        Host // ID, FirstSeen and LastSeen are ignored
	NodeKeyHash []byte
}

// HostFilter selects hosts; zero fields select everything.
type HostFilter struct {
	IDs       []int64
	Platforms []string
	SeenSince time.Time // LastSeen >= SeenSince
	Limit     int
}

// Hosts stores enrolled hosts.
type Hosts interface {
	// EnrollHost creates the host or, when a host with the same UUID (or, without a
	// UUID, the same identifier) exists, updates it and replaces its node key.
	EnrollHost(ctx context.Context, e Enrollment, now time.Time) (Host, error)
	// HostByNodeKey returns the host that holds the node key with this hash.
	HostByNodeKey(ctx context.Context, nodeKeyHash []byte) (Host, error)
	Host(ctx context.Context, id int64) (Host, error)
	// ListHosts returns the hosts that match f, ordered by ID.
	ListHosts(ctx context.Context, f HostFilter) ([]Host, error)
	// TouchHosts records last-seen times; a time older than the stored one is ignored.
	TouchHosts(ctx context.Context, seen map[int64]time.Time) error
	// RevokeNodeKey makes the host's node key invalid (the agent re-enrolls).
	RevokeNodeKey(ctx context.Context, hostID int64) error
}

// EnrollSecret is a shared secret agents enroll with; only its hash is stored.
type EnrollSecret struct {
	Name      string
	Hash      []byte
	CreatedAt time.Time
}

// Secrets stores enroll secrets. Several may be valid at once (rotation).
type Secrets interface {
	// AddEnrollSecret adds a secret; adding an existing name is ErrConflict.
	AddEnrollSecret(ctx context.Context, s EnrollSecret) error
	EnrollSecrets(ctx context.Context) ([]EnrollSecret, error)
	DeleteEnrollSecret(ctx context.Context, name string) error
}

// Token is an operator API bearer token; only its hash is stored.
type Token struct {
	ID        int64
	Name      string
	Role      string // viewer, hunter, admin
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	RevokedAt time.Time // zero: not revoked
}

// Valid reports whether the token may be used at now.
func (t Token) Valid(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// Tokens stores operator API tokens.
type Tokens interface {
	CreateToken(ctx context.Context, t Token) (Token, error)
	// TokenByHash returns the token with this hash, revoked or expired ones included.
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	ListTokens(ctx context.Context) ([]Token, error)
	RevokeToken(ctx context.Context, id int64, now time.Time) error
}

// Live query states (of the query as a whole).
const (
	QueryRunning   = "running"
	QueryDone      = "done"
	QueryCancelled = "cancelled"
)

// Per-host states of a live query.
const (
	HostPending = "pending" // not yet picked up by the agent
	HostSent    = "sent"    // handed to the agent by distributed/read
	HostOK      = "ok"      // answered with rows
	HostNoRows  = "no-rows" // answered without rows (or skipped by discovery)
	HostError   = "error"   // answered with a non-zero status, or timed out after being sent
	HostOffline = "offline" // never picked up before the deadline or cancellation
)

// TerminalHostState reports whether a per-host state is final.
func TerminalHostState(s string) bool {
	return s == HostOK || s == HostNoRows || s == HostError || s == HostOffline
}

// LiveQuery is an ad-hoc distributed query.
type LiveQuery struct {
	ID        int64
	SQL       string
	Discovery string // optional discovery query sent with it ("" for none)
	Targets   json.RawMessage
	CreatedBy string
	CreatedAt time.Time
	Deadline  time.Time
	State     string // QueryRunning, QueryDone or QueryCancelled
	DoneAt    time.Time
	// Counts per host state, filled by LiveQuery and ListLiveQueries.
	Counts map[string]int
}

// PendingQuery is a live query handed to an agent.
type PendingQuery struct {
	QueryID   int64
	SQL       string
	Discovery string
}

// LiveQueryHost is one host's progress on a live query.
type LiveQueryHost struct {
	QueryID   int64
	HostID    int64
	State     string
	Rows      int
	Status    int    // osquery status code; 0 = ok
	Message   string // error text from the agent, or why the state was set
	Stats     json.RawMessage
	UpdatedAt time.Time
}

// HostResult is one query's answer in a distributed/write.
type HostResult struct {
	QueryID int64
	Rows    []map[string]string
	Status  int
	Message string
	Stats   json.RawMessage // may be nil
}

// Row is one result row of a live query.
type Row struct {
	HostID  int64
	Seq     int
	Columns map[string]string
}

// LiveQueries stores live queries and their results.
type LiveQueries interface {
	// CreateLiveQuery stores q (ID, State, CreatedAt ignored) with one pending entry
	// per host.
	CreateLiveQuery(ctx context.Context, q LiveQuery, hostIDs []int64, now time.Time) (LiveQuery, error)
	LiveQuery(ctx context.Context, id int64) (LiveQuery, error)
	// ListLiveQueries returns the latest queries first.
	ListLiveQueries(ctx context.Context, limit int) ([]LiveQuery, error)
	// TakePendingQueries returns the running queries pending for the host and marks
	// them sent.
	TakePendingQueries(ctx context.Context, hostID int64, now time.Time) ([]PendingQuery, error)
	// RecordResults stores a distributed/write. Results for queries not sent to the
	// host, or already answered, are ignored (a retried POST changes nothing). Queries
	// sent to the host but missing from results become no-rows (discovery said no).
	// It returns the IDs of the live queries that changed.
	RecordResults(ctx context.Context, hostID int64, results []HostResult, now time.Time) ([]int64, error)
	LiveQueryHosts(ctx context.Context, queryID int64) ([]LiveQueryHost, error)
	// LiveQueryRows returns a host's rows in order (all hosts when hostID is 0).
	LiveQueryRows(ctx context.Context, queryID, hostID int64) ([]Row, error)
	// CancelLiveQuery ends a running query: hosts not yet answered become offline.
	CancelLiveQuery(ctx context.Context, id int64, now time.Time) error
	// FinishLiveQueries ends running queries whose deadline passed (pending hosts
	// become offline, sent ones error) or whose hosts all answered. It returns the
	// IDs of the queries it ended.
	FinishLiveQueries(ctx context.Context, now time.Time) ([]int64, error)
	// RunningLiveQueries counts queries still running.
	RunningLiveQueries(ctx context.Context) (int, error)
}

// Result log actions.
const (
	ActionAdded    = "added"
	ActionRemoved  = "removed"
	ActionSnapshot = "snapshot"
)

// ResultRow is one row of a scheduled query's result log. ID is deterministic
// (derived from the host and the log line) so inserting the same row twice keeps one.
type ResultRow struct {
	ID          string
	HostID      int64
	Name        string // schedule name, e.g. pack_execution_hunt_lineage
	Action      string
	UnixTime    int64
	Epoch       int64
	Counter     int64
	Columns     map[string]string
	Decorations map[string]string
	ReceivedAt  time.Time
}

// StatusLog is one osquery status log line. ID is deterministic like ResultRow's.
type StatusLog struct {
	ID         string
	HostID     int64
	UnixTime   int64
	Severity   int
	Filename   string
	Line       int
	Message    string
	Version    string
	ReceivedAt time.Time
}

// ResultFilter selects result rows; zero fields select everything.
type ResultFilter struct {
	HostID int64
	Name   string
	Since  time.Time // ReceivedAt >= Since
	Limit  int
}

// Logs stores result and status logs.
type Logs interface {
	// InsertResults stores rows, skipping those whose ID exists; it returns how many
	// were new.
	InsertResults(ctx context.Context, rows []ResultRow) (int, error)
	InsertStatusLogs(ctx context.Context, logs []StatusLog) (int, error)
	// Results returns matching rows ordered by receipt (then ID).
	Results(ctx context.Context, f ResultFilter) ([]ResultRow, error)
	StatusLogs(ctx context.Context, hostID int64, limit int) ([]StatusLog, error)
	// PruneLogs deletes at most limit result rows and limit status logs received
	// before before (the retention policy), and returns how many it deleted; the
	// caller repeats until it gets 0, so that no single delete holds the writer long.
	PruneLogs(ctx context.Context, before time.Time, limit int) (int64, error)
}
