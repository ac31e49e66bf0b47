-- Second line of defence behind the validator (DESIGN.md §2): the database itself refuses two
-- current sibling cells whose interiors overlap. Deferred to commit, so a revision may close old
-- rows and insert new ones in any order within its transaction.
CREATE FUNCTION cells_refuse_sibling_overlap() RETURNS trigger
LANGUAGE plpgsql AS $$
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
    FROM cells c
    WHERE c.valid_to IS NULL
      AND c.id <> NEW.id
      AND c.parent_code IS NOT DISTINCT FROM NEW.parent_code
      AND c.geom && NEW.geom
      AND ST_Relate(c.geom, NEW.geom, '2********')
    LIMIT 1;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'cells % and % overlap (siblings under parent %)', NEW.code, other, NEW.parent_code
            USING ERRCODE = 'exclusion_violation', DETAIL = NEW.code, HINT = other;
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER cells_no_sibling_overlap
    AFTER INSERT OR UPDATE OF geom, valid_to, parent_code ON cells
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION cells_refuse_sibling_overlap();
