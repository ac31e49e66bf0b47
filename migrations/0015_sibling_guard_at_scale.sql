-- The sibling-overlap guard of 0002, made linear at a province's size. Writing 200,000 cells in
-- one revision, its per-row check was planned inside the writing transaction, before any
-- statistics of the new rows: the plan ANDed a bitmap of every current row (from the partial
-- indexes on `valid_to IS NULL`) with the spatial one, for every row checked — quadratic; the
-- province's first revision had run 10 minutes in `SET CONSTRAINTS` when it was stopped (perf:
-- tbm_add_tuples). Now the candidates come from the spatial index alone: the `OFFSET 0`
-- subquery keeps the planner from merging the other conditions into the scan, and the
-- function's own settings rule out a sequential or bitmap scan whatever the statistics say.
-- The rule is unchanged: two current siblings whose interiors overlap are refused.
CREATE OR REPLACE FUNCTION cells_refuse_sibling_overlap() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
DECLARE
    other text;
BEGIN
    IF NEW.valid_to IS NOT NULL THEN
        RETURN NULL;
    END IF;
    -- The row may have been closed later in the same transaction.
    PERFORM 1 FROM cells WHERE id = NEW.id AND valid_to IS NULL;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT c.code INTO other
    FROM (
        SELECT s.id, s.code, s.parent_code, s.valid_to, s.geom
        FROM cells s
        WHERE s.geom && NEW.geom
        OFFSET 0
    ) c
    WHERE c.valid_to IS NULL
      AND c.id <> NEW.id
      AND c.parent_code IS NOT DISTINCT FROM NEW.parent_code
      AND ST_Relate(c.geom, NEW.geom, '2********')
    LIMIT 1;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'cells % and % overlap (siblings under parent %)', NEW.code, other, NEW.parent_code
            USING ERRCODE = 'exclusion_violation', DETAIL = NEW.code, HINT = other;
    END IF;
    RETURN NULL;
END;
$$;
