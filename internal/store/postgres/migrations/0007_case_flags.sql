-- Dated case flags (DESIGN.md §2): when the vendor became aware, a fix
-- was ready, the exploit went public, attacks were seen, …
CREATE TABLE case_flags (
	case_id bigint      NOT NULL REFERENCES cases (id),
	flag    text        NOT NULL,
	at      timestamptz NOT NULL,
	set_by  text        NOT NULL,
	PRIMARY KEY (case_id, flag)
);
