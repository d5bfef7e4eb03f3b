-- Updates: what each published release handed the catalog, one row per
-- version a product moves to, cumulative (cases and supersedes carry the
-- earlier updates forward). Written once, with the publication.
CREATE TABLE updates (
	id             bigserial   PRIMARY KEY,
	release_id     bigint      NOT NULL REFERENCES releases (id),
	product_id     bigint      NOT NULL REFERENCES products (id),
	brings         text        NOT NULL,
	applies_to     text        NOT NULL,
	classification text        NOT NULL,
	severity       text        NOT NULL,
	cases          text        NOT NULL,
	supersedes     text        NOT NULL,
	payload_name   text        NOT NULL,
	payload_type   text        NOT NULL,
	payload_sha    text        NOT NULL,
	payload_size   bigint      NOT NULL,
	created_at     timestamptz NOT NULL,
	UNIQUE (product_id, brings)
);
CREATE INDEX updates_release ON updates (release_id);
