-- Who each notice or bulletin is for, and who has it: if the relay fails
-- part-way, the next sweep sends to the rest and no one gets it twice.
CREATE TABLE deliveries (
	release_id    INTEGER NOT NULL,
	kind          TEXT    NOT NULL,
	subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
	delivered_at  INTEGER,
	PRIMARY KEY (release_id, kind, subscriber_id),
	FOREIGN KEY (release_id, kind) REFERENCES notifications (release_id, kind)
) STRICT;
CREATE INDEX deliveries_pending ON deliveries (release_id, kind) WHERE delivered_at IS NULL;
