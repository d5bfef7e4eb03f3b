-- Post-mortems: the lesson of each fixed case, the secure-coding tenets
-- they teach (a list the organisation edits), reviewers' comments, and
-- the briefing of each release.
CREATE TABLE tenets (
	id          INTEGER PRIMARY KEY,
	title       TEXT    NOT NULL,
	description TEXT    NOT NULL,
	retired     INTEGER NOT NULL CHECK (retired IN (0, 1)),
	created_at  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX tenets_title ON tenets (lower(title));

CREATE TABLE postmortems (
	case_id            INTEGER PRIMARY KEY REFERENCES cases (id),
	root_cause         TEXT    NOT NULL,
	cwe                INTEGER NOT NULL,
	component          TEXT    NOT NULL,
	team               TEXT    NOT NULL,
	introduced_version TEXT    NOT NULL,
	introduced_commit  TEXT    NOT NULL,
	how_found          TEXT    NOT NULL,
	why_missed         TEXT    NOT NULL,
	tenet_id           INTEGER REFERENCES tenets (id),
	actions            TEXT    NOT NULL, -- JSON array of {what, owner, due, done}
	author             TEXT    NOT NULL,
	edited_by          TEXT    NOT NULL,
	revision           INTEGER NOT NULL,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
) STRICT;

CREATE TABLE postmortem_comments (
	id      INTEGER PRIMARY KEY,
	case_id INTEGER NOT NULL REFERENCES cases (id),
	author  TEXT    NOT NULL,
	body    TEXT    NOT NULL,
	at      INTEGER NOT NULL
) STRICT;
CREATE INDEX postmortem_comments_case ON postmortem_comments (case_id, id);

CREATE TABLE briefings (
	release_id INTEGER PRIMARY KEY REFERENCES releases (id),
	body       TEXT    NOT NULL, -- JSON: title, intro, items, takeaways
	edited_by  TEXT    NOT NULL,
	edited_at  INTEGER NOT NULL,
	shared_by  TEXT    NOT NULL,
	shared_at  INTEGER
) STRICT;

-- A starting list the organisation edits: the principles secure-coding
-- courses teach most, each one the lesson of a common class of flaw.
INSERT INTO tenets (title, description, retired, created_at) VALUES
	('Validate all input at trust boundaries', 'Check type, length, range and format of everything that crosses a trust boundary, and reject what does not fit rather than repairing it.', 0, unixepoch() * 1000000),
	('Bound every memory access', 'Every index, length and copy is checked against the size of its buffer; prefer APIs and languages that check for you.', 0, unixepoch() * 1000000),
	('Keep data and code apart', 'Build queries, commands and markup with parameters or encoders for their context, never by pasting strings together.', 0, unixepoch() * 1000000),
	('Check authorization on every request', 'Decide access on the server for every operation and object, by default deny, never trusting what the client says it may do.', 0, unixepoch() * 1000000),
	('Authenticate strongly and manage sessions safely', 'Verify identity with vetted mechanisms, protect credentials and session tokens, and expire them.', 0, unixepoch() * 1000000),
	('Use vetted cryptography correctly', 'Use well-reviewed libraries and current algorithms with safe defaults; never invent a scheme or reuse nonces and keys.', 0, unixepoch() * 1000000),
	('Keep secrets out of code, logs and errors', 'Secrets live in a secret store, are never logged, and error messages tell the user what to do without revealing internals.', 0, unixepoch() * 1000000),
	('Fail closed and handle every error', 'An unexpected state stops the operation safely; every error is checked and handled where it can be.', 0, unixepoch() * 1000000),
	('Grant the least privilege', 'Each component runs with only the rights it needs, so a flaw in one cannot reach further.', 0, unixepoch() * 1000000),
	('Use shared state safely', 'Guard state shared between threads, processes and requests; check and use a resource in one atomic step.', 0, unixepoch() * 1000000),
	('Keep dependencies current and known', 'Know what third-party code ships in the product, and take its security fixes promptly.', 0, unixepoch() * 1000000);
