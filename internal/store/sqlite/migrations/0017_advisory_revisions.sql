-- Corrections to published advisories: each is a new revision (2, 3, …)
-- with what changed; revision 1 is the publication itself.
CREATE TABLE advisory_revisions (
	advisory_id INTEGER NOT NULL REFERENCES advisories (id),
	number      INTEGER NOT NULL CHECK (number >= 2),
	summary     TEXT    NOT NULL,
	by_whom     TEXT    NOT NULL,
	at          INTEGER NOT NULL,
	PRIMARY KEY (advisory_id, number)
) STRICT;
