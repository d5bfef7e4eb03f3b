-- Staff accounts, sessions, API tokens, sign-in throttling and the audit log.
CREATE TABLE users (
	id                   INTEGER PRIMARY KEY,
	email                TEXT    NOT NULL UNIQUE,
	roles                TEXT    NOT NULL,
	password_hash        TEXT    NOT NULL,
	must_change_password INTEGER NOT NULL DEFAULT 0,
	disabled             INTEGER NOT NULL DEFAULT 0,
	created_at           INTEGER NOT NULL -- unix microseconds, UTC
) STRICT;

CREATE TABLE sessions (
	hash       TEXT    PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	from_addr  TEXT    NOT NULL
) STRICT;
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE api_tokens (
	id         INTEGER PRIMARY KEY,
	hash       TEXT    NOT NULL UNIQUE,
	user_id    INTEGER NOT NULL REFERENCES users (id),
	name       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (user_id, name)
) STRICT;

CREATE TABLE signin_failures (
	email   TEXT    PRIMARY KEY,
	count   INTEGER NOT NULL,
	last_at INTEGER NOT NULL
) STRICT;

CREATE TABLE audit (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	at        INTEGER NOT NULL,
	who       TEXT    NOT NULL,
	from_addr TEXT    NOT NULL,
	action    TEXT    NOT NULL,
	subject   TEXT    NOT NULL,
	detail    TEXT    NOT NULL
) STRICT;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
