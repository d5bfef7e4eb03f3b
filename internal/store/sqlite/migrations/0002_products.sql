-- The vendor's products and their released versions.
CREATE TABLE products (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	vendor     TEXT    NOT NULL,
	scheme     TEXT    NOT NULL CHECK (scheme IN ('semver', 'debian', 'opaque')),
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE product_versions (
	id         INTEGER PRIMARY KEY, -- also the order versions were added in
	product_id INTEGER NOT NULL REFERENCES products (id),
	version    TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (product_id, version)
) STRICT;
