-- Planners' drafts: changes on top of a base revision, checked before they may be committed.
-- The edits are kept as GeoJSON Features in jsonb (numbers round-trip exactly, so shared vertices
-- stay bit-identical); a draft is closed by the revision that committed it.
CREATE TABLE drafts (
    id                 bigserial PRIMARY KEY,
    base_revision      integer NOT NULL REFERENCES revisions (number),
    author             text NOT NULL,
    -- {"<code>": Feature | null (removed)}
    changes            jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- [["<retired code>", "<new code>"], …]
    lineage            jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    committed_revision integer REFERENCES revisions (number)
);

-- Which cells a revision changed, for the history and its diffs.
ALTER TABLE revisions ADD COLUMN draft_id bigint REFERENCES drafts (id);
