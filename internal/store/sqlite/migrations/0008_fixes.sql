-- Fixes (one build per affected version, newest counts) and their test runs.
CREATE TABLE fixes (
	id            INTEGER PRIMARY KEY,
	case_id       INTEGER NOT NULL REFERENCES cases (id),
	version_id    INTEGER NOT NULL REFERENCES product_versions (id),
	payload_name  TEXT    NOT NULL,
	payload_type  TEXT    NOT NULL,
	payload_sha   TEXT    NOT NULL,
	payload_size  INTEGER NOT NULL,
	source_ref    TEXT    NOT NULL,
	release_notes TEXT    NOT NULL,
	author_id     INTEGER NOT NULL REFERENCES users (id),
	author        TEXT    NOT NULL,
	created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX fixes_case ON fixes (case_id);

CREATE TABLE test_runs (
	id          INTEGER PRIMARY KEY,
	fix_id      INTEGER NOT NULL REFERENCES fixes (id),
	tester_id   INTEGER NOT NULL REFERENCES users (id),
	tester      TEXT    NOT NULL,
	passed      INTEGER NOT NULL,
	n_passed    INTEGER NOT NULL,
	n_failed    INTEGER NOT NULL,
	n_skipped   INTEGER NOT NULL,
	n_errors    INTEGER NOT NULL,
	failing     TEXT    NOT NULL, -- JSON array of test names
	passing     TEXT    NOT NULL,
	regressions TEXT    NOT NULL,
	notes       TEXT    NOT NULL,
	created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX test_runs_fix ON test_runs (fix_id);
