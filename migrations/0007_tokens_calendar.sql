-- Token lifecycle: an optional expiry, and the first characters of each token (never enough to
-- use it) so an administrator can name one to revoke; tokens made before this have none.
ALTER TABLE api_tokens
    ADD COLUMN expires_at   timestamptz,
    ADD COLUMN token_prefix text CHECK (token_prefix IS NULL OR length(token_prefix) <= 12);
CREATE INDEX api_tokens_prefix ON api_tokens (token_prefix);

-- The working-day calendar as loaded by `gridmap calendar import`: a national year published
-- after a release, or a local overlay. Same shape as data/holidays/*.json; applied after the
-- files, in load order (a later document wins on a date).
CREATE TABLE calendar_documents (
    name        text PRIMARY KEY CHECK (name <> ''),
    document    jsonb NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    loaded_by   text NOT NULL
);
