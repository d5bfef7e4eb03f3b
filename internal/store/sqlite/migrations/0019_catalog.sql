-- The signed catalog. tuf_metadata keeps every signed version of every TUF
-- role (and targets waiting for offline signatures), append-only, so a
-- client reading an older consistent snapshot still finds it.
CREATE TABLE tuf_metadata (
	role       TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	body       BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (role, version)
) STRICT;

-- One catalog entry per published update: its payload (the fix's build,
-- a patchday payload) and restart need, or why it could not be
-- distributed. Written once.
CREATE TABLE catalog_entries (
	update_id    INTEGER PRIMARY KEY REFERENCES updates (id),
	state        TEXT    NOT NULL, -- ready | refused
	reason       TEXT    NOT NULL,
	restart      TEXT    NOT NULL,
	target       TEXT    NOT NULL,
	payload_sha  TEXT    NOT NULL,
	payload_size INTEGER NOT NULL,
	created_at   INTEGER NOT NULL
) STRICT;

-- Direct deltas to an entry's version from earlier versions' payloads.
CREATE TABLE catalog_deltas (
	update_id    INTEGER NOT NULL REFERENCES catalog_entries (update_id),
	from_version TEXT    NOT NULL,
	target       TEXT    NOT NULL,
	sha          TEXT    NOT NULL,
	size         INTEGER NOT NULL,
	build_ms     INTEGER NOT NULL,
	PRIMARY KEY (update_id, from_version)
) STRICT;
CREATE INDEX catalog_entries_sha ON catalog_entries (payload_sha);
CREATE INDEX catalog_deltas_sha ON catalog_deltas (sha);
