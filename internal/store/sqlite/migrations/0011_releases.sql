-- Releases: train dates and out-of-band releases, the cases they ship,
-- approval and publication (once).
CREATE TABLE releases (
	id            INTEGER PRIMARY KEY,
	at            INTEGER NOT NULL,
	kind          TEXT    NOT NULL CHECK (kind IN ('train', 'out-of-band')),
	justification TEXT    NOT NULL,
	approved_by   TEXT    NOT NULL,
	approved_at   INTEGER,
	published_at  INTEGER,
	created_at    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX releases_train_at ON releases (at) WHERE kind = 'train';

CREATE TABLE release_cases (
	release_id INTEGER NOT NULL REFERENCES releases (id),
	case_id    INTEGER NOT NULL UNIQUE REFERENCES cases (id),
	PRIMARY KEY (release_id, case_id)
) STRICT;
