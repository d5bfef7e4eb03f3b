-- Subscribers to advance notices and bulletins (double opt-in), and which
-- notifications went out, so each goes once.
CREATE TABLE subscribers (
	id              INTEGER PRIMARY KEY,
	email           TEXT    NOT NULL UNIQUE,
	token_hash      TEXT    NOT NULL UNIQUE, -- of the confirmation link's secret
	unsub_token     TEXT    NOT NULL UNIQUE, -- kept as is: it only unsubscribes, and every mail carries it
	confirmed_at    INTEGER,
	unsubscribed_at INTEGER,
	created_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE notifications (
	release_id INTEGER NOT NULL REFERENCES releases (id),
	kind       TEXT    NOT NULL, -- notice, bulletin
	sent_at    INTEGER NOT NULL,
	recipients INTEGER NOT NULL,
	PRIMARY KEY (release_id, kind)
) STRICT;
