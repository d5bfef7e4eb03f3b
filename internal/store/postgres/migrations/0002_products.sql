-- The vendor's products and their released versions.
CREATE TABLE products (
	id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       text        COLLATE "C" NOT NULL UNIQUE,
	vendor     text        NOT NULL,
	scheme     text        NOT NULL CHECK (scheme IN ('semver', 'debian', 'opaque')),
	created_at timestamptz NOT NULL
);

CREATE TABLE product_versions (
	id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- also the order versions were added in
	product_id bigint      NOT NULL REFERENCES products (id),
	version    text        NOT NULL,
	created_at timestamptz NOT NULL,
	UNIQUE (product_id, version)
);
