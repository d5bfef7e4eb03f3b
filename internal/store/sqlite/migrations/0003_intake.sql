-- Cases opened by intake, the reports on them and their attachments.
CREATE TABLE case_numbers (
	year INTEGER PRIMARY KEY,
	last INTEGER NOT NULL
) STRICT;

CREATE TABLE cases (
	id         INTEGER PRIMARY KEY,
	ref        TEXT    NOT NULL UNIQUE,
	year       INTEGER NOT NULL,
	number     INTEGER NOT NULL,
	title      TEXT    NOT NULL,
	state      TEXT    NOT NULL,
	product_id INTEGER REFERENCES products (id),
	link_hash  TEXT    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	UNIQUE (year, number)
) STRICT;

CREATE TABLE reports (
	id              INTEGER PRIMARY KEY,
	case_id         INTEGER NOT NULL REFERENCES cases (id),
	title           TEXT    NOT NULL,
	product         TEXT    NOT NULL,
	product_id      INTEGER REFERENCES products (id),
	version         TEXT    NOT NULL,
	description     TEXT    NOT NULL,
	impact          TEXT    NOT NULL,
	steps           TEXT    NOT NULL,
	configuration   TEXT    NOT NULL,
	cvss_vector     TEXT    NOT NULL,
	cvss_version    TEXT    NOT NULL,
	cvss_score      REAL    NOT NULL,
	cvss_rating     TEXT    NOT NULL,
	cwe             INTEGER NOT NULL,
	how_found       TEXT    NOT NULL,
	public          INTEGER NOT NULL,
	exploited       INTEGER NOT NULL,
	disclosure_date TEXT    NOT NULL, -- YYYY-MM-DD or empty
	email           TEXT    NOT NULL,
	credit_name     TEXT    NOT NULL,
	credit_handle   TEXT    NOT NULL,
	anonymous       INTEGER NOT NULL,
	source          TEXT    NOT NULL,
	from_addr       TEXT    NOT NULL,
	received_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX reports_case ON reports (case_id);
CREATE INDEX reports_from ON reports (from_addr, received_at);

CREATE TABLE attachments (
	id           INTEGER PRIMARY KEY,
	report_id    INTEGER NOT NULL REFERENCES reports (id),
	name         TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	sha256       TEXT    NOT NULL,
	size         INTEGER NOT NULL
) STRICT;
CREATE INDEX attachments_report ON attachments (report_id);
