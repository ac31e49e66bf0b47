-- The public side (issue 18): which incident categories the public results may show, and 居民之声.

-- 000: "所有问题处置办理结果应当让群众知晓" — but never matters whose category itself tells of a
-- person (family disputes, care of special groups) or of public order. Unknown = not public.
ALTER TABLE incident_categories ADD COLUMN public boolean NOT NULL DEFAULT true;
UPDATE incident_categories SET public = false
WHERE code IN ('0102', '0305', '05') OR parent = '05';

-- A resident's suggestion (居民之声): the incident it became, the code the resident tracks it by,
-- and the contact they left (never shown on any public output).
CREATE TABLE suggestions (
    tracking_code text PRIMARY KEY CHECK (tracking_code ~ '^[0-9A-Z]{10}$'),
    incident_id   bigint NOT NULL UNIQUE REFERENCES incidents (id),
    cell_code     text NOT NULL,
    contact       text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- The reporter of residents' suggestions and the uploader of their photos. Disabled: no token is
-- ever issued to it, so nobody can act as it.
INSERT INTO users (name, role, cells, disabled_at) VALUES ('居民之声', 'worker', '{}', now())
ON CONFLICT (name) DO NOTHING;
-- A photo is seen by whoever may see an incident it belongs to whole.
CREATE INDEX incidents_photos ON incidents USING gin (photos);
CREATE INDEX incidents_cell_closed ON incidents (cell_code, closed_at) WHERE closed_at IS NOT NULL;
