-- Case handling: every move of a case (the source of time-in-state), and
-- triage data.
CREATE TABLE case_transitions (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	case_id      bigint      NOT NULL REFERENCES cases (id),
	from_state   text        NOT NULL,
	to_state     text        NOT NULL,
	actor        text        NOT NULL,
	reason       text        NOT NULL,
	duplicate_of text        NOT NULL,
	comment      text        NOT NULL,
	at           timestamptz NOT NULL
);
CREATE INDEX case_transitions_case ON case_transitions (case_id);

ALTER TABLE cases ADD COLUMN assignee_id  bigint REFERENCES users (id);
ALTER TABLE cases ADD COLUMN cvss_vector  text             NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN cvss_version text             NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN cvss_score   double precision NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN cvss_rating  text             NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN cwe          integer          NOT NULL DEFAULT 0;

CREATE TABLE case_affected (
	case_id    bigint NOT NULL REFERENCES cases (id),
	version_id bigint NOT NULL REFERENCES product_versions (id),
	PRIMARY KEY (case_id, version_id)
);
