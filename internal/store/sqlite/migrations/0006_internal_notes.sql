-- Internal notes: staff-only entries of a case's thread.
ALTER TABLE case_messages ADD COLUMN internal INTEGER NOT NULL DEFAULT 0;
