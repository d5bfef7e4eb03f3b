-- Advisories: the public record of a release's fixes, one per case or per
-- group of cases. What cases already know (severity, products, credit) is
-- read from them when rendering; the advisory keeps what people write.
CREATE TABLE advisory_numbers (
	year INTEGER PRIMARY KEY,
	last INTEGER NOT NULL
) STRICT;

CREATE TABLE advisories (
	id         INTEGER PRIMARY KEY,
	ref        TEXT    NOT NULL UNIQUE,
	release_id INTEGER NOT NULL REFERENCES releases (id),
	title      TEXT    NOT NULL,
	summary    TEXT    NOT NULL,
	cves       TEXT    NOT NULL, -- JSON array
	workaround TEXT    NOT NULL,
	created_by TEXT    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE advisory_cases (
	advisory_id INTEGER NOT NULL REFERENCES advisories (id),
	case_id     INTEGER NOT NULL UNIQUE REFERENCES cases (id),
	PRIMARY KEY (advisory_id, case_id)
) STRICT;
