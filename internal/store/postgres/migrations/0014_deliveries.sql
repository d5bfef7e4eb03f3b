-- Who each notice or bulletin is for, and who has it: if the relay fails
-- part-way, the next sweep sends to the rest and no one gets it twice.
CREATE TABLE deliveries (
	release_id    bigint NOT NULL,
	kind          text   NOT NULL,
	subscriber_id bigint NOT NULL REFERENCES subscribers (id),
	delivered_at  timestamptz,
	PRIMARY KEY (release_id, kind, subscriber_id),
	FOREIGN KEY (release_id, kind) REFERENCES notifications (release_id, kind)
);
CREATE INDEX deliveries_pending ON deliveries (release_id, kind) WHERE delivered_at IS NULL;
