-- Results pushed back to the platforms a report came from (the 12345 hotline wants to tell the
-- caller): when an incident taken in by `POST /api/v1/intake/{source}` is closed (结案) or
-- rated (评价), a trigger writes the result into the outbox in the same transaction, so no
-- restart or crash loses one; the server delivers it to the source's callback with retries.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    source      text NOT NULL REFERENCES intake_sources (name),
    incident_id bigint NOT NULL REFERENCES incidents (id),
    kind        text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    attempts    integer NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL DEFAULT now(),
    last_error  text,
    delivered_at timestamptz,
    UNIQUE (incident_id, kind)
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE delivered_at IS NULL;

CREATE FUNCTION outbox_result() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (source, incident_id, kind, payload)
    SELECT i.source, NEW.id, NEW.state,
           jsonb_build_object('external_id', i.external_id, 'incident_id', NEW.id,
                              'state', NEW.state, 'category', NEW.category,
                              'closed_at', NEW.closed_at, 'rating', NEW.rating,
                              'updated_at', NEW.updated_at)
    FROM intake_items i WHERE i.incident_id = NEW.id
    ON CONFLICT (incident_id, kind) DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_outbox AFTER UPDATE OF state ON incidents
    FOR EACH ROW WHEN (NEW.state IN ('结案', '评价') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION outbox_result();
