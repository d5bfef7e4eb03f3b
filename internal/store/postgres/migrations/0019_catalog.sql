-- The signed catalog. tuf_metadata keeps every signed version of every TUF
-- role (and targets waiting for offline signatures), append-only, so a
-- client reading an older consistent snapshot still finds it.
CREATE TABLE tuf_metadata (
	role       text    NOT NULL,
	version    bigint NOT NULL,
	body       bytea       NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (role, version)
);

-- One catalog entry per published update: its payload (the fix's build,
-- a patchday payload) and restart need, or why it could not be
-- distributed. Written once.
CREATE TABLE catalog_entries (
	update_id    bigint PRIMARY KEY REFERENCES updates (id),
	state        text    NOT NULL, -- ready | refused
	reason       text    NOT NULL,
	restart      text    NOT NULL,
	target       text    NOT NULL,
	payload_sha  text    NOT NULL,
	payload_size bigint NOT NULL,
	created_at   timestamptz NOT NULL
);

-- Direct deltas to an entry's version from earlier versions' payloads.
CREATE TABLE catalog_deltas (
	update_id    bigint NOT NULL REFERENCES catalog_entries (update_id),
	from_version text    NOT NULL,
	target       text    NOT NULL,
	sha          text    NOT NULL,
	size         bigint NOT NULL,
	build_ms     bigint NOT NULL,
	PRIMARY KEY (update_id, from_version)
);
CREATE INDEX catalog_entries_sha ON catalog_entries (payload_sha);
CREATE INDEX catalog_deltas_sha ON catalog_deltas (sha);
