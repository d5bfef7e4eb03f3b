-- Cases opened by intake, the reports on them and their attachments.
CREATE TABLE case_numbers (
	year integer PRIMARY KEY,
	last integer NOT NULL
);

CREATE TABLE cases (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ref        text    NOT NULL UNIQUE,
	year       integer NOT NULL,
	number     integer NOT NULL,
	title      text    NOT NULL,
	state      text    NOT NULL,
	product_id bigint REFERENCES products (id),
	link_hash  text    NOT NULL UNIQUE,
	created_at timestamptz NOT NULL,
	UNIQUE (year, number)
);

CREATE TABLE reports (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	case_id         bigint NOT NULL REFERENCES cases (id),
	title           text    NOT NULL,
	product         text    NOT NULL,
	product_id      bigint REFERENCES products (id),
	version         text    NOT NULL,
	description     text    NOT NULL,
	impact          text    NOT NULL,
	steps           text    NOT NULL,
	configuration   text    NOT NULL,
	cvss_vector     text    NOT NULL,
	cvss_version    text    NOT NULL,
	cvss_score      double precision    NOT NULL,
	cvss_rating     text    NOT NULL,
	cwe             integer NOT NULL,
	how_found       text    NOT NULL,
	public          boolean NOT NULL,
	exploited       boolean NOT NULL,
	disclosure_date text    NOT NULL, -- YYYY-MM-DD or empty
	email           text    NOT NULL,
	credit_name     text    NOT NULL,
	credit_handle   text    NOT NULL,
	anonymous       boolean NOT NULL,
	source          text    NOT NULL,
	from_addr       text    NOT NULL,
	received_at     timestamptz NOT NULL
);
CREATE INDEX reports_case ON reports (case_id);
CREATE INDEX reports_from ON reports (from_addr, received_at);

CREATE TABLE attachments (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	report_id    bigint NOT NULL REFERENCES reports (id),
	name         text    NOT NULL,
	content_type text    NOT NULL,
	sha256       text    NOT NULL,
	size         bigint NOT NULL
);
CREATE INDEX attachments_report ON attachments (report_id);
