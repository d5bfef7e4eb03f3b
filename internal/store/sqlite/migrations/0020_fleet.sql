-- The customer update server: what it mirrors from upstream, the fleet it
-- serves, and the rollouts it runs.

-- Targets named by the upstream server's signed targets metadata, and
-- whether their content is here yet. Written by the sync; the signed
-- metadata itself goes into tuf_metadata as received.
CREATE TABLE mirror_targets (
	path       TEXT    PRIMARY KEY,
	sha        TEXT    NOT NULL,
	size       INTEGER NOT NULL,
	seen_at    INTEGER NOT NULL,
	fetched_at INTEGER           -- NULL until the content is in the blob store
) STRICT;
CREATE INDEX mirror_targets_sha ON mirror_targets (sha);

-- Updates the fleet knows, from the signed targets (own or mirrored), and
-- when this server first saw each: cooldowns and rules count from then.
CREATE TABLE fleet_updates (
	update_id  INTEGER PRIMARY KEY,
	product    TEXT    NOT NULL,
	version    TEXT    NOT NULL,
	first_seen INTEGER NOT NULL
) STRICT;

-- Groups (rings): membership by computer name or label, a maintenance
-- window and a rollout policy.
CREATE TABLE fleet_groups (
	id          INTEGER PRIMARY KEY,
	name        TEXT    NOT NULL UNIQUE,
	ring        INTEGER NOT NULL,
	members     TEXT    NOT NULL, -- JSON array of computer names
	labels      TEXT    NOT NULL, -- JSON array of labels
	window_rule TEXT    NOT NULL, -- '' = any time
	window_secs INTEGER NOT NULL,
	window_tz   TEXT    NOT NULL,
	policy      TEXT    NOT NULL, -- JSON fleet.Policy
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
) STRICT;

-- Enrollment tokens, stored hashed; each may be used max_uses times.
CREATE TABLE enroll_tokens (
	id         INTEGER PRIMARY KEY,
	hash       BLOB    NOT NULL UNIQUE,
	note       TEXT    NOT NULL,
	labels     TEXT    NOT NULL, -- JSON array given to computers enrolling with it
	max_uses   INTEGER NOT NULL,
	uses       INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	created_by TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
) STRICT;

-- Enrolled computers with their credential (hashed) and last inventory.
CREATE TABLE computers (
	id          INTEGER PRIMARY KEY,
	name        TEXT    NOT NULL,
	cred_hash   BLOB    NOT NULL,
	os          TEXT    NOT NULL,
	arch        TEXT    NOT NULL,
	labels      TEXT    NOT NULL, -- JSON array
	token_id    INTEGER NOT NULL REFERENCES enroll_tokens (id),
	group_id    INTEGER,          -- resolved at check-in; NULL = the default group
	inventory   TEXT    NOT NULL, -- JSON array of {product, version}
	inv_hash    INTEGER NOT NULL, -- of the inventory as reported: unchanged ones are not rewritten
	enrolled_at INTEGER NOT NULL,
	last_seen   INTEGER NOT NULL,
	retired_at  INTEGER
) STRICT;
CREATE INDEX computers_name ON computers (name);

-- Every check-in, appended: a batch of them fills a page or two, where
-- updating each computer's row would dirty a page per computer. The sweep
-- folds them into computer_seen.
CREATE TABLE checkin_log (
	seq         INTEGER PRIMARY KEY,
	computer_id INTEGER NOT NULL,
	at          INTEGER NOT NULL
) STRICT;
-- The newest check-in of each computer, folded from checkin_log: narrow,
-- so folding rewrites few pages however many check-ins arrived.
CREATE TABLE computer_seen (
	computer_id INTEGER PRIMARY KEY,
	at          INTEGER NOT NULL
) STRICT;

-- The latest state each computer reported for each update.
CREATE TABLE computer_updates (
	computer_id INTEGER NOT NULL REFERENCES computers (id),
	update_id   INTEGER NOT NULL,
	state       TEXT    NOT NULL, -- downloaded | installing | installed | failed | removed
	detail      TEXT    NOT NULL,
	at          INTEGER NOT NULL,
	restarts    INTEGER NOT NULL,
	downtime_s  INTEGER NOT NULL,
	PRIMARY KEY (computer_id, update_id)
) STRICT;
CREATE INDEX computer_updates_state ON computer_updates (state, at);

-- Approvals per update × group, each with its rollout's counters, kept
-- current as results arrive so no check-in recounts the fleet.
CREATE TABLE fleet_approvals (
	id             INTEGER PRIMARY KEY,
	update_id      INTEGER NOT NULL,
	group_id       INTEGER NOT NULL REFERENCES fleet_groups (id),
	action         TEXT    NOT NULL, -- install | remove
	deadline       INTEGER,
	approved_by    TEXT    NOT NULL, -- a staff user, or rule:<name>
	approved_at    INTEGER NOT NULL,
	why            TEXT    NOT NULL,
	wave           INTEGER NOT NULL,
	wave_since     INTEGER NOT NULL,
	succeeded      INTEGER NOT NULL,
	failed         INTEGER NOT NULL,
	timed_out      INTEGER NOT NULL,
	acked_failures INTEGER NOT NULL,
	acked_results  INTEGER NOT NULL,
	braked_at      INTEGER,
	brake_reason   TEXT    NOT NULL,
	UNIQUE (update_id, group_id)
) STRICT;

-- Restart leases: at most a group's max_unavailable held at once.
CREATE TABLE restart_leases (
	computer_id INTEGER PRIMARY KEY REFERENCES computers (id),
	group_id    INTEGER NOT NULL,
	granted_at  INTEGER NOT NULL,
	until       INTEGER NOT NULL
) STRICT;
CREATE INDEX restart_leases_group ON restart_leases (group_id, until);

-- What computers reported, for the history view; expires by retention.
CREATE TABLE fleet_events (
	id          INTEGER PRIMARY KEY,
	computer_id INTEGER NOT NULL,
	update_id   INTEGER NOT NULL, -- 0 when about no update
	kind        TEXT    NOT NULL,
	detail      TEXT    NOT NULL,
	at          INTEGER NOT NULL
) STRICT;
CREATE INDEX fleet_events_at ON fleet_events (at);
CREATE INDEX fleet_events_computer ON fleet_events (computer_id, at);

-- Fleet-wide settings kept as data (auto-approval rules).
CREATE TABLE fleet_settings (
	name       TEXT    PRIMARY KEY,
	value      TEXT    NOT NULL,
	updated_by TEXT    NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
