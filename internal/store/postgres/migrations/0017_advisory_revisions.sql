-- Corrections to published advisories: each is a new revision (2, 3, …)
-- with what changed; revision 1 is the publication itself.
CREATE TABLE advisory_revisions (
	advisory_id bigint      NOT NULL REFERENCES advisories (id),
	number      integer     NOT NULL CHECK (number >= 2),
	summary     text        NOT NULL,
	by_whom     text        NOT NULL,
	at          timestamptz NOT NULL,
	PRIMARY KEY (advisory_id, number)
);
