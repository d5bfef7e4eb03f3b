-- Leases let one of several servers run each scheduled job; reminders
-- remember which SLA warnings went out, so none is sent twice.
CREATE TABLE leases (
	name   text        PRIMARY KEY,
	holder text        NOT NULL,
	until  timestamptz NOT NULL
);

CREATE TABLE sla_reminders (
	case_id bigint      NOT NULL REFERENCES cases (id),
	clock   text        NOT NULL,
	kind    text        NOT NULL, -- due-soon, overdue
	sent_at timestamptz NOT NULL,
	PRIMARY KEY (case_id, clock, kind)
);
