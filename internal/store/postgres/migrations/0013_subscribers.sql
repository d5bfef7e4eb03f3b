-- Subscribers to advance notices and bulletins (double opt-in), and which
-- notifications went out, so each goes once.
CREATE TABLE subscribers (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email           text        NOT NULL UNIQUE,
	token_hash      text        NOT NULL UNIQUE, -- of the confirmation link's secret
	unsub_token     text        NOT NULL UNIQUE, -- kept as is: it only unsubscribes, and every mail carries it
	confirmed_at    timestamptz,
	unsubscribed_at timestamptz,
	created_at      timestamptz NOT NULL
);

CREATE TABLE notifications (
	release_id bigint      NOT NULL REFERENCES releases (id),
	kind       text        NOT NULL, -- notice, bulletin
	sent_at    timestamptz NOT NULL,
	recipients integer     NOT NULL,
	PRIMARY KEY (release_id, kind)
);
