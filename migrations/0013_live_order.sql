-- Live events get their stream position (`seq`, the SSE id) after they commit, from one
-- sequencer at a time, instead of under an ordering lock every writer held through its commit
-- (which serialised every incident commit and its WAL flush: the webhook intake's bottleneck).
-- A row is written with `seq` NULL; the sequencer numbers the committed ones under an advisory
-- lock held through its own commit, so positions become visible in order and a reader that saw
-- position n never later finds a smaller one appear.
ALTER TABLE live_events ADD COLUMN seq bigint;
UPDATE live_events SET seq = id;
CREATE UNIQUE INDEX live_events_seq ON live_events (seq);
CREATE INDEX live_events_unsequenced ON live_events (id) WHERE seq IS NULL;
CREATE SEQUENCE live_seq;
SELECT setval('live_seq', coalesce((SELECT max(id) FROM live_events), 0) + 1, false);
