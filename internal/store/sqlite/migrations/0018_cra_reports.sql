-- EU Cyber Resilience Act Article 14 reporting: a report per actively
-- exploited vulnerability (a case) or severe incident (a product), what
-- staff did with each stage, and the reminders sent.
CREATE TABLE cra_reports (
	id            INTEGER PRIMARY KEY,
	kind          TEXT    NOT NULL CHECK (kind IN ('exploited-vulnerability', 'severe-incident')),
	case_id       INTEGER UNIQUE REFERENCES cases (id),
	product_id    INTEGER NOT NULL REFERENCES products (id),
	aware_at      INTEGER NOT NULL,
	malicious     TEXT    NOT NULL,
	summary       TEXT    NOT NULL,
	mitigation_at INTEGER,
	opened_by     TEXT    NOT NULL,
	created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE cra_stages (
	report_id    INTEGER NOT NULL REFERENCES cra_reports (id),
	stage        TEXT    NOT NULL CHECK (stage IN ('early-warning', 'notification', 'final-report')),
	draft        TEXT    NOT NULL, -- JSON, '' while generated from the case
	edited_by    TEXT    NOT NULL,
	approved_by  TEXT    NOT NULL,
	approved_at  INTEGER,
	submitted_at INTEGER,
	submitted_by TEXT    NOT NULL,
	channel      TEXT    NOT NULL,
	reference    TEXT    NOT NULL,
	PRIMARY KEY (report_id, stage)
) STRICT;

CREATE TABLE cra_reminders (
	report_id INTEGER NOT NULL REFERENCES cra_reports (id),
	stage     TEXT    NOT NULL,
	point     TEXT    NOT NULL,
	sent_at   INTEGER NOT NULL,
	PRIMARY KEY (report_id, stage, point)
) STRICT;
