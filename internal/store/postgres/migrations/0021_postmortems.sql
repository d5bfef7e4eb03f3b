-- Post-mortems: the lesson of each fixed case, the secure-coding tenets
-- they teach (a list the organisation edits), reviewers' comments, and
-- the briefing of each release.
CREATE TABLE tenets (
	id          bigserial   PRIMARY KEY,
	title       text        NOT NULL,
	description text        NOT NULL,
	retired     boolean     NOT NULL,
	created_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX tenets_title ON tenets (lower(title));

CREATE TABLE postmortems (
	case_id            bigint      PRIMARY KEY REFERENCES cases (id),
	root_cause         text        NOT NULL,
	cwe                integer     NOT NULL,
	component          text        NOT NULL,
	team               text        NOT NULL,
	introduced_version text        NOT NULL,
	introduced_commit  text        NOT NULL,
	how_found          text        NOT NULL,
	why_missed         text        NOT NULL,
	tenet_id           bigint      REFERENCES tenets (id),
	actions            jsonb       NOT NULL, -- [{what, owner, due, done}]
	author             text        NOT NULL,
	edited_by          text        NOT NULL,
	revision           integer     NOT NULL,
	created_at         timestamptz NOT NULL,
	updated_at         timestamptz NOT NULL
);

CREATE TABLE postmortem_comments (
	id      bigserial   PRIMARY KEY,
	case_id bigint      NOT NULL REFERENCES cases (id),
	author  text        NOT NULL,
	body    text        NOT NULL,
	at      timestamptz NOT NULL
);
CREATE INDEX postmortem_comments_case ON postmortem_comments (case_id, id);

CREATE TABLE briefings (
	release_id bigint      PRIMARY KEY REFERENCES releases (id),
	body       jsonb       NOT NULL, -- title, intro, items, takeaways
	edited_by  text        NOT NULL,
	edited_at  timestamptz NOT NULL,
	shared_by  text        NOT NULL,
	shared_at  timestamptz
);

-- A starting list the organisation edits: the principles secure-coding
-- courses teach most, each one the lesson of a common class of flaw.
INSERT INTO tenets (title, description, retired, created_at) VALUES
	('Validate all input at trust boundaries', 'Check type, length, range and format of everything that crosses a trust boundary, and reject what does not fit rather than repairing it.', FALSE, now()),
	('Bound every memory access', 'Every index, length and copy is checked against the size of its buffer; prefer APIs and languages that check for you.', FALSE, now()),
	('Keep data and code apart', 'Build queries, commands and markup with parameters or encoders for their context, never by pasting strings together.', FALSE, now()),
	('Check authorization on every request', 'Decide access on the server for every operation and object, by default deny, never trusting what the client says it may do.', FALSE, now()),
	('Authenticate strongly and manage sessions safely', 'Verify identity with vetted mechanisms, protect credentials and session tokens, and expire them.', FALSE, now()),
	('Use vetted cryptography correctly', 'Use well-reviewed libraries and current algorithms with safe defaults; never invent a scheme or reuse nonces and keys.', FALSE, now()),
	('Keep secrets out of code, logs and errors', 'Secrets live in a secret store, are never logged, and error messages tell the user what to do without revealing internals.', FALSE, now()),
	('Fail closed and handle every error', 'An unexpected state stops the operation safely; every error is checked and handled where it can be.', FALSE, now()),
	('Grant the least privilege', 'Each component runs with only the rights it needs, so a flaw in one cannot reach further.', FALSE, now()),
	('Use shared state safely', 'Guard state shared between threads, processes and requests; check and use a resource in one atomic step.', FALSE, now()),
	('Keep dependencies current and known', 'Know what third-party code ships in the product, and take its security fixes promptly.', FALSE, now());
