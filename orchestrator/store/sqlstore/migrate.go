package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations are applied in order; migrations[i] brings the schema to version i+1,
// recorded in the one-row table schema_version (the numbering of the migrations
// each backend carried before they were shared: databases made by older builds
// open unchanged). The column types in braces are the dialect's (Dialect.Types):
// times are 64-bit integer microseconds since the Unix epoch (0 for the zero
// time), JSON documents TEXT (kept byte for byte), hashes bytes. Identifiers that
// are keywords somewhere ("rows", "key", …) are quoted. Never edit a released
// migration: append a new one.
var migrations = []string{
	// 1: hosts, secrets, tokens, live queries, logs.
	`
CREATE TABLE hosts (
	id              {id},
	identifier      TEXT    NOT NULL,
	hostname        TEXT    NOT NULL DEFAULT '',
	uuid            TEXT    NOT NULL DEFAULT '',
	platform        TEXT    NOT NULL DEFAULT '',
	os_name         TEXT    NOT NULL DEFAULT '',
	os_platform     TEXT    NOT NULL DEFAULT '',
	os_version      TEXT    NOT NULL DEFAULT '',
	osquery_version TEXT    NOT NULL DEFAULT '',
	details         TEXT,
	node_key_hash   {bytes}   UNIQUE,
	enrolled_at     {int64}  NOT NULL,
	first_seen      {int64}  NOT NULL,
	last_seen       {int64}  NOT NULL
);
CREATE INDEX hosts_uuid ON hosts (uuid);
CREATE INDEX hosts_identifier ON hosts (identifier);
CREATE INDEX hosts_platform ON hosts (platform);

CREATE TABLE enroll_secrets (
	name       TEXT   PRIMARY KEY,
	hash       {bytes}  NOT NULL,
	created_at {int64} NOT NULL
);

CREATE TABLE api_tokens (
	id         {id},
	name       TEXT   NOT NULL,
	role       TEXT   NOT NULL,
	hash       {bytes}  NOT NULL UNIQUE,
	created_at {int64} NOT NULL,
	expires_at {int64} NOT NULL DEFAULT 0,
	revoked_at {int64} NOT NULL DEFAULT 0
);

CREATE TABLE live_queries (
	id         {id},
	sql        TEXT   NOT NULL,
	discovery  TEXT   NOT NULL DEFAULT '',
	targets    TEXT,
	created_by TEXT   NOT NULL DEFAULT '',
	created_at {int64} NOT NULL,
	deadline   {int64} NOT NULL,
	state      TEXT   NOT NULL,
	done_at    {int64} NOT NULL DEFAULT 0
);
CREATE INDEX live_queries_state ON live_queries (state);

CREATE TABLE live_query_hosts (
	query_id   {int64}  NOT NULL REFERENCES live_queries (id),
	host_id    {int64}  NOT NULL,
	state      TEXT    NOT NULL,
	"rows"     INTEGER NOT NULL DEFAULT 0,
	status     INTEGER NOT NULL DEFAULT 0,
	message    TEXT    NOT NULL DEFAULT '',
	stats      TEXT,
	updated_at {int64}  NOT NULL,
	PRIMARY KEY (query_id, host_id)
);
CREATE INDEX live_query_hosts_host_state ON live_query_hosts (host_id, state);

CREATE TABLE live_query_rows (
	query_id  {int64}  NOT NULL,
	host_id   {int64}  NOT NULL,
	seq       INTEGER NOT NULL,
	"columns" TEXT    NOT NULL,
	PRIMARY KEY (query_id, host_id, seq)
);

CREATE TABLE result_rows (
	id          TEXT   PRIMARY KEY,
	host_id     {int64} NOT NULL,
	name        TEXT   NOT NULL,
	action      TEXT   NOT NULL,
	unix_time   {int64} NOT NULL,
	epoch       {int64} NOT NULL,
	counter     {int64} NOT NULL,
	"columns"   TEXT   NOT NULL,
	decorations TEXT,
	received_at {int64} NOT NULL
);
CREATE INDEX result_rows_host_name ON result_rows (host_id, name);
CREATE INDEX result_rows_received ON result_rows (received_at);

CREATE TABLE status_logs (
	id          TEXT    PRIMARY KEY,
	host_id     {int64}  NOT NULL,
	unix_time   {int64}  NOT NULL,
	severity    INTEGER NOT NULL,
	filename    TEXT    NOT NULL,
	line        INTEGER NOT NULL,
	message     TEXT    NOT NULL,
	version     TEXT    NOT NULL,
	received_at {int64}  NOT NULL
);
CREATE INDEX status_logs_host ON status_logs (host_id, received_at);
`,
	// 2: audit log (who did what, when: live queries, triage and admin actions).
	`
CREATE TABLE audit_log (
	id       {id},
	"time"   {int64} NOT NULL,
	actor    TEXT   NOT NULL,
	token_id {int64} NOT NULL DEFAULT 0,
	role     TEXT   NOT NULL DEFAULT '',
	remote   TEXT   NOT NULL DEFAULT '',
	action   TEXT   NOT NULL,
	target   TEXT   NOT NULL DEFAULT '',
	sql      TEXT   NOT NULL DEFAULT '',
	detail   TEXT
);
CREATE INDEX audit_log_time ON audit_log ("time");
CREATE INDEX audit_log_actor ON audit_log (actor, id);
`,
	// 3: hunts, their dispatch runs (live queries per run) and per-host watermarks.
	`
CREATE TABLE hunts (
	id          {id},
	name        TEXT    NOT NULL UNIQUE,
	description TEXT    NOT NULL DEFAULT '',
	pack        TEXT    NOT NULL,
	queries     TEXT    NOT NULL DEFAULT '[]',
	targets     TEXT    NOT NULL DEFAULT '{}',
	mode        TEXT    NOT NULL,
	schedule    TEXT    NOT NULL DEFAULT '',
	"interval"  INTEGER NOT NULL DEFAULT 0,
	timeout_ms  {int64}  NOT NULL DEFAULT 0,
	enabled     {bool} NOT NULL DEFAULT {true},
	builtin     {bool} NOT NULL DEFAULT {false},
	created_by  TEXT    NOT NULL DEFAULT '',
	created_at  {int64}  NOT NULL,
	updated_at  {int64}  NOT NULL
);

CREATE TABLE hunt_meta (
	"key" TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE hunt_runs (
	id              {id},
	hunt_id         {int64}  NOT NULL,
	hunt            TEXT    NOT NULL,
	trigger_kind    TEXT    NOT NULL,
	requested_by    TEXT    NOT NULL DEFAULT '',
	state           TEXT    NOT NULL,
	message         TEXT    NOT NULL DEFAULT '',
	scheduled_at    {int64}  NOT NULL,
	window_end      {int64}  NOT NULL,
	started_at      {int64}  NOT NULL,
	deadline        {int64}  NOT NULL,
	ended_at        {int64}  NOT NULL DEFAULT 0,
	hosts_targeted  INTEGER NOT NULL DEFAULT 0,
	hosts_responded INTEGER NOT NULL DEFAULT 0,
	hosts_errored   INTEGER NOT NULL DEFAULT 0,
	hosts_offline   INTEGER NOT NULL DEFAULT 0,
	"rows"          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX hunt_runs_hunt ON hunt_runs (hunt_id, id);
-- At most one running run per hunt, whatever the number of orchestrators.
CREATE UNIQUE INDEX hunt_runs_one_running ON hunt_runs (hunt_id) WHERE state = 'running';

CREATE TABLE hunt_run_queries (
	run_id        {int64} NOT NULL REFERENCES hunt_runs (id),
	query         TEXT   NOT NULL,
	live_query_id {int64} NOT NULL REFERENCES live_queries (id),
	window_start  {int64} NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, live_query_id)
);

CREATE TABLE hunt_watermarks (
	hunt_id {int64} NOT NULL,
	host_id {int64} NOT NULL,
	until   {int64} NOT NULL,
	PRIMARY KEY (hunt_id, host_id)
);
`,
	// 4: anomaly triage (current state per stack, and the history of changes).
	`
CREATE TABLE anomaly_triage (
	query  TEXT   NOT NULL,
	"key"  TEXT   NOT NULL,
	state  TEXT   NOT NULL,
	reason TEXT   NOT NULL DEFAULT '',
	"by"   TEXT   NOT NULL DEFAULT '',
	at     {int64} NOT NULL,
	PRIMARY KEY (query, "key")
);
CREATE TABLE anomaly_triage_history (
	id     {id},
	query  TEXT   NOT NULL,
	"key"  TEXT   NOT NULL,
	state  TEXT   NOT NULL,
	reason TEXT   NOT NULL DEFAULT '',
	"by"   TEXT   NOT NULL DEFAULT '',
	at     {int64} NOT NULL
);
CREATE INDEX anomaly_triage_history_stack ON anomaly_triage_history (query, "key", id);
`,
	// 5: suppression rules (stack patterns and host sets made baseline).
	`
CREATE TABLE suppression_rules (
	id      {id},
	query   TEXT   NOT NULL DEFAULT '',
	pattern TEXT   NOT NULL,
	hosts   TEXT   NOT NULL DEFAULT '[]',
	reason  TEXT   NOT NULL,
	"by"    TEXT   NOT NULL DEFAULT '',
	at      {int64} NOT NULL
);
`,
	// 6: leases (the replica that fires the cron hunts, docs/store.md).
	`
CREATE TABLE leases (
	name       TEXT   NOT NULL PRIMARY KEY,
	holder     TEXT   NOT NULL,
	expires_at {int64} NOT NULL
);
`,
	// 7: a live query's hosts by state. Every answer checks whether the query is
	// done (no host pending or sent); by primary key alone that scanned all of
	// its hosts, quadratic over a fleet-wide query.
	`
CREATE INDEX live_query_hosts_query_state ON live_query_hosts (query_id, state);
`,
	// 8: result rows are looked up by query name and time (hunts reading their
	// results), never by host: the index by host put each new row on a random
	// page. (SQLite's Extra also moves last-seen times to a narrow table.)
	`
DROP INDEX result_rows_host_name;
CREATE INDEX result_rows_name ON result_rows (name, received_at);
`,
	// 9: the forwarding outbox (orchestrator/forward, docs/forwarding.md): one
	// row a message a destination, delivered in id order per destination.
	`
CREATE TABLE outbox (
	id           {id},
	destination  TEXT    NOT NULL,
	dedupe_key   TEXT    NOT NULL,
	payload      {bytes}   NOT NULL,
	created_at   {int64}  NOT NULL,
	state        TEXT    NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt {int64}  NOT NULL,
	last_error   TEXT    NOT NULL DEFAULT '',
	delivered_at {int64}  NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX outbox_dedupe ON outbox (destination, dedupe_key);
CREATE INDEX outbox_queue ON outbox (destination, state, id);
`,
}

// Migrations returns the schema version this build migrates to (the number of
// migrations it knows).
func Migrations() int { return len(migrations) }

// migration returns migration i (0-based) in d's types, with d's extra schema.
func (d Dialect) migration(i int) string {
	return d.Types.Replace(migrations[i]) + d.Extra[i+1]
}

// Migrate applies the missing migrations, each in its own transaction with the
// version it brings, under the dialect's lock "migrate" (so orchestrators starting
// together on one PostgreSQL apply each once). A database newer than the build is
// refused.
func (s *Store) Migrate(ctx context.Context) error {
	for {
		var applied bool
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if err := s.lock(ctx, tx, "migrate"); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
				return err
			}
			v, err := scanID(tx.QueryRowContext(ctx, `SELECT version FROM schema_version`))
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
					return err
				}
			case err != nil:
				return err
			}
			switch {
			case v > int64(len(migrations)):
				return fmt.Errorf("database schema version %d is newer than this build (%d)", v, len(migrations))
			case v == int64(len(migrations)):
				return nil
			}
			if _, err := tx.ExecContext(ctx, s.d.migration(int(v))); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
			if _, err := tx.ExecContext(ctx, s.bind(`UPDATE schema_version SET version = ?`), v+1); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
			applied = true
			return nil
		})
		if err != nil {
			return s.errorf("migrate: %w", err)
		}
		if !applied {
			return nil
		}
	}
}

// SchemaVersion returns the number of migrations applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	v, err := scanID(s.r.QueryRowContext(ctx, `SELECT version FROM schema_version`))
	return int(v), s.Wrap("schema version", err)
}
