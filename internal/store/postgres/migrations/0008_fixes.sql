-- Fixes (one build per affected version, newest counts) and their test runs.
CREATE TABLE fixes (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	case_id       bigint NOT NULL REFERENCES cases (id),
	version_id    bigint NOT NULL REFERENCES product_versions (id),
	payload_name  text    NOT NULL,
	payload_type  text    NOT NULL,
	payload_sha   text    NOT NULL,
	payload_size  bigint NOT NULL,
	source_ref    text    NOT NULL,
	release_notes text    NOT NULL,
	author_id     bigint NOT NULL REFERENCES users (id),
	author        text    NOT NULL,
	created_at    timestamptz NOT NULL
);
CREATE INDEX fixes_case ON fixes (case_id);

CREATE TABLE test_runs (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	fix_id      bigint NOT NULL REFERENCES fixes (id),
	tester_id   bigint NOT NULL REFERENCES users (id),
	tester      text    NOT NULL,
	passed      boolean NOT NULL,
	n_passed    integer NOT NULL,
	n_failed    integer NOT NULL,
	n_skipped   integer NOT NULL,
	n_errors    integer NOT NULL,
	failing     text    NOT NULL, -- JSON array of test names
	passing     text    NOT NULL,
	regressions text    NOT NULL,
	notes       text    NOT NULL,
	created_at  timestamptz NOT NULL
);
CREATE INDEX test_runs_fix ON test_runs (fix_id);
