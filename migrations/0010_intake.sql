-- Feeds from other platforms (DESIGN.md §4): the 12345 hotline and video-alarm platforms post
-- signed reports to `POST /api/v1/intake/{source}`. Each source has its own secret (HMAC-SHA256;
-- kept whole, since verifying a signature needs it), the incident source it is shown as, and
-- a mapping of its category codes to ours. Each external id is taken once.
CREATE TABLE intake_sources (
    name         text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    secret       text NOT NULL CHECK (length(secret) >= 32),
    label        text NOT NULL,
    category_map jsonb NOT NULL DEFAULT '{}',
    callback_url text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    disabled_at  timestamptz
);
CREATE TABLE intake_items (
    source      text NOT NULL REFERENCES intake_sources (name),
    external_id text NOT NULL CHECK (external_id <> '' AND length(external_id) <= 128),
    incident_id bigint NOT NULL REFERENCES incidents (id),
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, external_id)
);
