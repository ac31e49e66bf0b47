-- Staff portraits, stored with the record they belong to; published only with consent.
ALTER TABLE staff ADD COLUMN photo_type text, ADD COLUMN photo_bytes bytea;
