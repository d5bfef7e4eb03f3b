-- The thread between the security team and the researcher.
CREATE TABLE case_messages (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	case_id       bigint      NOT NULL REFERENCES cases (id),
	from_reporter boolean     NOT NULL,
	author        text        NOT NULL,
	body          text        NOT NULL,
	mail          text        NOT NULL,
	created_at    timestamptz NOT NULL
);
CREATE INDEX case_messages_case ON case_messages (case_id);

CREATE TABLE message_attachments (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	message_id   bigint NOT NULL REFERENCES case_messages (id),
	name         text   NOT NULL,
	content_type text   NOT NULL,
	sha256       text   NOT NULL,
	size         bigint NOT NULL
);
CREATE INDEX message_attachments_message ON message_attachments (message_id);
