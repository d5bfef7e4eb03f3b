-- Internal notes: staff-only entries of a case's thread.
ALTER TABLE case_messages ADD COLUMN internal boolean NOT NULL DEFAULT false;
