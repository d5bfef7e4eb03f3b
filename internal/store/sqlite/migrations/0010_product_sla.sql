-- A product's own SLA policy (JSON: first response and triage days, fix
-- days by rating); empty means the default policy.
ALTER TABLE products ADD COLUMN sla TEXT NOT NULL DEFAULT '';
