-- EU Cyber Resilience Act Article 14 reporting: a report per actively
-- exploited vulnerability (a case) or severe incident (a product), what
-- staff did with each stage, and the reminders sent.
CREATE TABLE cra_reports (
	id            bigserial   PRIMARY KEY,
	kind          text        NOT NULL CHECK (kind IN ('exploited-vulnerability', 'severe-incident')),
	case_id       bigint      UNIQUE REFERENCES cases (id),
	product_id    bigint      NOT NULL REFERENCES products (id),
	aware_at      timestamptz NOT NULL,
	malicious     text        NOT NULL,
	summary       text        NOT NULL,
	mitigation_at timestamptz,
	opened_by     text        NOT NULL,
	created_at    timestamptz NOT NULL
);

CREATE TABLE cra_stages (
	report_id    bigint      NOT NULL REFERENCES cra_reports (id),
	stage        text        NOT NULL CHECK (stage IN ('early-warning', 'notification', 'final-report')),
	draft        text        NOT NULL,
	edited_by    text        NOT NULL,
	approved_by  text        NOT NULL,
	approved_at  timestamptz,
	submitted_at timestamptz,
	submitted_by text        NOT NULL,
	channel      text        NOT NULL,
	reference    text        NOT NULL,
	PRIMARY KEY (report_id, stage)
);

CREATE TABLE cra_reminders (
	report_id bigint      NOT NULL REFERENCES cra_reports (id),
	stage     text        NOT NULL,
	point     text        NOT NULL,
	sent_at   timestamptz NOT NULL,
	PRIMARY KEY (report_id, stage, point)
);
