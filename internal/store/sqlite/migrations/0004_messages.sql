-- The thread between the security team and the researcher.
CREATE TABLE case_messages (
	id            INTEGER PRIMARY KEY,
	case_id       INTEGER NOT NULL REFERENCES cases (id),
	from_reporter INTEGER NOT NULL,
	author        TEXT    NOT NULL,
	body          TEXT    NOT NULL,
	mail          TEXT    NOT NULL,
	created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX case_messages_case ON case_messages (case_id);

CREATE TABLE message_attachments (
	id           INTEGER PRIMARY KEY,
	message_id   INTEGER NOT NULL REFERENCES case_messages (id),
	name         TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	sha256       TEXT    NOT NULL,
	size         INTEGER NOT NULL
) STRICT;
CREATE INDEX message_attachments_message ON message_attachments (message_id);
