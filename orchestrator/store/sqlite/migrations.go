package sqlite

// migrations are applied in order; migrations[i] brings the schema to version i+1.
// Never edit a released migration: append a new one.
var migrations = []string{
	// 1: hosts, secrets, tokens, live queries, logs.
	`
CREATE TABLE hosts (
	id              INTEGER PRIMARY KEY,
	identifier      TEXT    NOT NULL,
	hostname        TEXT    NOT NULL DEFAULT '',
	uuid            TEXT    NOT NULL DEFAULT '',
	platform        TEXT    NOT NULL DEFAULT '',
	os_name         TEXT    NOT NULL DEFAULT '',
	os_platform     TEXT    NOT NULL DEFAULT '',
	os_version      TEXT    NOT NULL DEFAULT '',
	osquery_version TEXT    NOT NULL DEFAULT '',
	details         TEXT,
	node_key_hash   BLOB    UNIQUE,
	enrolled_at     INTEGER NOT NULL,
	first_seen      INTEGER NOT NULL,
	last_seen       INTEGER NOT NULL
);
CREATE INDEX hosts_uuid ON hosts (uuid);
CREATE INDEX hosts_identifier ON hosts (identifier);
CREATE INDEX hosts_platform ON hosts (platform);

CREATE TABLE enroll_secrets (
	name       TEXT PRIMARY KEY,
	hash       BLOB NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	role       TEXT    NOT NULL,
	hash       BLOB    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL DEFAULT 0,
	revoked_at INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE live_queries (
	id         INTEGER PRIMARY KEY,
	sql        TEXT    NOT NULL,
	discovery  TEXT    NOT NULL DEFAULT '',
	targets    TEXT,
	created_by TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	deadline   INTEGER NOT NULL,
	state      TEXT    NOT NULL,
	done_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX live_queries_state ON live_queries (state);

CREATE TABLE live_query_hosts (
	query_id   INTEGER NOT NULL REFERENCES live_queries (id),
	host_id    INTEGER NOT NULL,
	state      TEXT    NOT NULL,
	rows       INTEGER NOT NULL DEFAULT 0,
	status     INTEGER NOT NULL DEFAULT 0,
	message    TEXT    NOT NULL DEFAULT '',
	stats      TEXT,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (query_id, host_id)
);
CREATE INDEX live_query_hosts_host_state ON live_query_hosts (host_id, state);

CREATE TABLE live_query_rows (
	query_id INTEGER NOT NULL,
	host_id  INTEGER NOT NULL,
	seq      INTEGER NOT NULL,
	columns  TEXT    NOT NULL,
	PRIMARY KEY (query_id, host_id, seq)
);

CREATE TABLE result_rows (
	id          TEXT    PRIMARY KEY,
	host_id     INTEGER NOT NULL,
	name        TEXT    NOT NULL,
	action      TEXT    NOT NULL,
	unix_time   INTEGER NOT NULL,
	epoch       INTEGER NOT NULL,
	counter     INTEGER NOT NULL,
	columns     TEXT    NOT NULL,
	decorations TEXT,
	received_at INTEGER NOT NULL
);
CREATE INDEX result_rows_host_name ON result_rows (host_id, name);
CREATE INDEX result_rows_received ON result_rows (received_at);

CREATE TABLE status_logs (
	id          TEXT    PRIMARY KEY,
	host_id     INTEGER NOT NULL,
	unix_time   INTEGER NOT NULL,
	severity    INTEGER NOT NULL,
	filename    TEXT    NOT NULL,
	line        INTEGER NOT NULL,
	message     TEXT    NOT NULL,
	version     TEXT    NOT NULL,
	received_at INTEGER NOT NULL
);
CREATE INDEX status_logs_host ON status_logs (host_id, received_at);
`,
	// 2: audit log (who did what, when: live queries, triage and admin actions).
	`
CREATE TABLE audit_log (
	id       INTEGER PRIMARY KEY,
	time     INTEGER NOT NULL,
	actor    TEXT    NOT NULL,
	token_id INTEGER NOT NULL DEFAULT 0,
	role     TEXT    NOT NULL DEFAULT '',
	remote   TEXT    NOT NULL DEFAULT '',
	action   TEXT    NOT NULL,
	target   TEXT    NOT NULL DEFAULT '',
	sql      TEXT    NOT NULL DEFAULT '',
	detail   TEXT
);
CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
`,
	// 3: hunts, their dispatch runs (live queries per run) and per-host watermarks.
	`
CREATE TABLE hunts (
	id          INTEGER PRIMARY KEY,
	name        TEXT    NOT NULL UNIQUE,
	description TEXT    NOT NULL DEFAULT '',
	pack        TEXT    NOT NULL,
	queries     TEXT    NOT NULL DEFAULT '[]',
	targets     TEXT    NOT NULL DEFAULT '{}',
	mode        TEXT    NOT NULL,
	schedule    TEXT    NOT NULL DEFAULT '',
	interval    INTEGER NOT NULL DEFAULT 0,
	timeout_ms  INTEGER NOT NULL DEFAULT 0,
	enabled     INTEGER NOT NULL DEFAULT 1,
	builtin     INTEGER NOT NULL DEFAULT 0,
	created_by  TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);

CREATE TABLE hunt_meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE hunt_runs (
	id              INTEGER PRIMARY KEY,
	hunt_id         INTEGER NOT NULL,
	hunt            TEXT    NOT NULL,
	trigger_kind    TEXT    NOT NULL,
	requested_by    TEXT    NOT NULL DEFAULT '',
	state           TEXT    NOT NULL,
	message         TEXT    NOT NULL DEFAULT '',
	scheduled_at    INTEGER NOT NULL,
	window_end      INTEGER NOT NULL,
	started_at      INTEGER NOT NULL,
	deadline        INTEGER NOT NULL,
	ended_at        INTEGER NOT NULL DEFAULT 0,
	hosts_targeted  INTEGER NOT NULL DEFAULT 0,
	hosts_responded INTEGER NOT NULL DEFAULT 0,
	hosts_errored   INTEGER NOT NULL DEFAULT 0,
	hosts_offline   INTEGER NOT NULL DEFAULT 0,
	rows            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX hunt_runs_hunt ON hunt_runs (hunt_id, id);
-- At most one running run per hunt, whatever the number of orchestrators.
CREATE UNIQUE INDEX hunt_runs_one_running ON hunt_runs (hunt_id) WHERE state = 'running';

CREATE TABLE hunt_run_queries (
	run_id        INTEGER NOT NULL REFERENCES hunt_runs (id),
	query         TEXT    NOT NULL,
	live_query_id INTEGER NOT NULL REFERENCES live_queries (id),
	window_start  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, live_query_id)
);

CREATE TABLE hunt_watermarks (
	hunt_id INTEGER NOT NULL,
	host_id INTEGER NOT NULL,
	until   INTEGER NOT NULL,
	PRIMARY KEY (hunt_id, host_id)
);
`,
	// 4: anomaly triage (current state per stack, and the history of changes).
	`
CREATE TABLE anomaly_triage (
	query  TEXT    NOT NULL,
	key    TEXT    NOT NULL,
	state  TEXT    NOT NULL,
	reason TEXT    NOT NULL DEFAULT '',
	by     TEXT    NOT NULL DEFAULT '',
	at     INTEGER NOT NULL,
	PRIMARY KEY (query, key)
);
CREATE TABLE anomaly_triage_history (
	id     INTEGER PRIMARY KEY,
	query  TEXT    NOT NULL,
	key    TEXT    NOT NULL,
	state  TEXT    NOT NULL,
	reason TEXT    NOT NULL DEFAULT '',
	by     TEXT    NOT NULL DEFAULT '',
	at     INTEGER NOT NULL
);
CREATE INDEX anomaly_triage_history_stack ON anomaly_triage_history (query, key, id);
`,
	// 5: suppression rules (stack patterns and host sets made baseline).
	`
CREATE TABLE suppression_rules (
	id      INTEGER PRIMARY KEY,
	query   TEXT    NOT NULL DEFAULT '',
	pattern TEXT    NOT NULL,
	hosts   TEXT    NOT NULL DEFAULT '[]',
	reason  TEXT    NOT NULL,
	by      TEXT    NOT NULL DEFAULT '',
	at      INTEGER NOT NULL
);
`,
	// 6: leases (the replica that fires the cron hunts, docs/store.md).
	`
CREATE TABLE leases (
	name       TEXT   NOT NULL PRIMARY KEY,
	holder     TEXT   NOT NULL,
	expires_at INTEGER NOT NULL
);
`,
	// 7: a live query's hosts by state. Every answer checks whether the query is
	// done (no host pending or sent); by primary key alone that scanned all of
	// its hosts, quadratic over a fleet-wide query.
	`
CREATE INDEX live_query_hosts_query_state ON live_query_hosts (query_id, state);
`,
	// 8: cheaper writes at fleet scale.
	// - Last-seen times live in their own narrow table, about 15 pages for 5,000
	//   hosts. Updated in place, a host's row (with its enroll details, about a
	//   page each) put a page per host into the WAL every few seconds: 20 MB
	//   every 5 s at 5,000 hosts. A host's last seen is the later of hosts.last_seen
	//   (enrolment) and host_seen.last_seen. (Nothing deletes hosts; whatever does
	//   must delete its host_seen row too.)
	// - Result rows are looked up by query name and time (hunts reading their
	//   results), never by host: the index by host put each new row on a random
	//   page.
	`
CREATE TABLE host_seen (
	host_id   INTEGER PRIMARY KEY,
	last_seen INTEGER NOT NULL
);
DROP INDEX result_rows_host_name;
CREATE INDEX result_rows_name ON result_rows (name, received_at);
`,
}
