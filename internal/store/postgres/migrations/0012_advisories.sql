-- Advisories: the public record of a release's fixes, one per case or per
-- group of cases. What cases already know (severity, products, credit) is
-- read from them when rendering; the advisory keeps what people write.
CREATE TABLE advisory_numbers (
	year integer PRIMARY KEY,
	last integer NOT NULL
);

CREATE TABLE advisories (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ref        text        NOT NULL UNIQUE,
	release_id bigint      NOT NULL REFERENCES releases (id),
	title      text        NOT NULL,
	summary    text        NOT NULL,
	cves       text        NOT NULL, -- JSON array
	workaround text        NOT NULL,
	created_by text        NOT NULL,
	created_at timestamptz NOT NULL
);

CREATE TABLE advisory_cases (
	advisory_id bigint NOT NULL REFERENCES advisories (id),
	case_id     bigint NOT NULL UNIQUE REFERENCES cases (id),
	PRIMARY KEY (advisory_id, case_id)
);
