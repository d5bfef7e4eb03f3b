-- Case handling: every move of a case (the source of time-in-state), and
-- triage data.
CREATE TABLE case_transitions (
	id           INTEGER PRIMARY KEY,
	case_id      INTEGER NOT NULL REFERENCES cases (id),
	from_state   TEXT    NOT NULL,
	to_state     TEXT    NOT NULL,
	actor        TEXT    NOT NULL,
	reason       TEXT    NOT NULL,
	duplicate_of TEXT    NOT NULL,
	comment      TEXT    NOT NULL,
	at           INTEGER NOT NULL
) STRICT;
CREATE INDEX case_transitions_case ON case_transitions (case_id);

ALTER TABLE cases ADD COLUMN assignee_id  INTEGER REFERENCES users (id);
ALTER TABLE cases ADD COLUMN cvss_vector  TEXT    NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN cvss_version TEXT    NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN cvss_score   REAL    NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN cvss_rating  TEXT    NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN cwe          INTEGER NOT NULL DEFAULT 0;

CREATE TABLE case_affected (
	case_id    INTEGER NOT NULL REFERENCES cases (id),
	version_id INTEGER NOT NULL REFERENCES product_versions (id),
	PRIMARY KEY (case_id, version_id)
) STRICT;
