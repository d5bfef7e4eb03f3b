-- Staff accounts, sessions, API tokens, sign-in throttling and the audit log.
-- Every name is unqualified: objects go into the connection's current schema
-- (the first existing schema on its search_path).
--
-- E-mail addresses use the "C" collation so that equality and ORDER BY
-- compare bytes, as SQLite does, whatever the database's default collation.
CREATE TABLE users (
	id                   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email                text        COLLATE "C" NOT NULL UNIQUE,
	roles                text        NOT NULL,
	password_hash        text        NOT NULL,
	must_change_password boolean     NOT NULL DEFAULT false,
	disabled             boolean     NOT NULL DEFAULT false,
	created_at           timestamptz NOT NULL
);

CREATE TABLE sessions (
	hash       text        PRIMARY KEY,
	user_id    bigint      NOT NULL REFERENCES users (id),
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	from_addr  text        NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE api_tokens (
	id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	hash       text        NOT NULL UNIQUE,
	user_id    bigint      NOT NULL REFERENCES users (id),
	name       text        NOT NULL,
	created_at timestamptz NOT NULL,
	UNIQUE (user_id, name)
);

CREATE TABLE signin_failures (
	email   text        COLLATE "C" PRIMARY KEY,
	count   integer     NOT NULL,
	last_at timestamptz NOT NULL
);

CREATE TABLE audit (
	id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at        timestamptz NOT NULL,
	who       text        NOT NULL,
	from_addr text        NOT NULL,
	action    text        NOT NULL,
	subject   text        NOT NULL,
	detail    text        NOT NULL
);

-- The audit log is append-only: any UPDATE, DELETE or TRUNCATE statement on
-- it fails, even one that would touch no row. (Only the table's owner can
-- get round this, by disabling the trigger or dropping the table.)
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
