-- The version a fix's build brings (2.4.3 for a fix of 2.4.2): the fixed
-- version advisories print and the catalog installs. Empty for fixes
-- uploaded before it was asked.
ALTER TABLE fixes ADD COLUMN brings TEXT NOT NULL DEFAULT '';
