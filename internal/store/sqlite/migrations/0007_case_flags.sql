-- Dated case flags (DESIGN.md §2): when the vendor became aware, a fix
-- was ready, the exploit went public, attacks were seen, …
CREATE TABLE case_flags (
	case_id INTEGER NOT NULL REFERENCES cases (id),
	flag    TEXT    NOT NULL,
	at      INTEGER NOT NULL,
	set_by  TEXT    NOT NULL,
	PRIMARY KEY (case_id, flag)
) STRICT;
