-- Releases: train dates and out-of-band releases, the cases they ship,
-- approval and publication (once).
CREATE TABLE releases (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at            timestamptz NOT NULL,
	kind          text        NOT NULL CHECK (kind IN ('train', 'out-of-band')),
	justification text        NOT NULL,
	approved_by   text        NOT NULL,
	approved_at   timestamptz,
	published_at  timestamptz,
	created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX releases_train_at ON releases (at) WHERE kind = 'train';

CREATE TABLE release_cases (
	release_id bigint NOT NULL REFERENCES releases (id),
	case_id    bigint NOT NULL UNIQUE REFERENCES cases (id),
	PRIMARY KEY (release_id, case_id)
);
