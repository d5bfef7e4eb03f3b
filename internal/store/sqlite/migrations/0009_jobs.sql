-- Leases let one of several servers run each scheduled job; reminders
-- remember which SLA warnings went out, so none is sent twice.
CREATE TABLE leases (
	name   TEXT    PRIMARY KEY,
	holder TEXT    NOT NULL,
	until  INTEGER NOT NULL
) STRICT;

CREATE TABLE sla_reminders (
	case_id INTEGER NOT NULL REFERENCES cases (id),
	clock   TEXT    NOT NULL,
	kind    TEXT    NOT NULL, -- due-soon, overdue
	sent_at INTEGER NOT NULL,
	PRIMARY KEY (case_id, clock, kind)
) STRICT;
