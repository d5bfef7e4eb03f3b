-- Updates: what each published release handed the catalog, one row per
-- version a product moves to, cumulative (cases and supersedes carry the
-- earlier updates forward). Written once, with the publication.
CREATE TABLE updates (
	id             INTEGER PRIMARY KEY,
	release_id     INTEGER NOT NULL REFERENCES releases (id),
	product_id     INTEGER NOT NULL REFERENCES products (id),
	brings         TEXT    NOT NULL,
	applies_to     TEXT    NOT NULL, -- JSON array of versions
	classification TEXT    NOT NULL,
	severity       TEXT    NOT NULL,
	cases          TEXT    NOT NULL, -- JSON array of case refs
	supersedes     TEXT    NOT NULL, -- JSON array of {id, brings}
	payload_name   TEXT    NOT NULL,
	payload_type   TEXT    NOT NULL,
	payload_sha    TEXT    NOT NULL,
	payload_size   INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	UNIQUE (product_id, brings)
) STRICT;
CREATE INDEX updates_release ON updates (release_id);
