-- A server that hears of a commit reads only the rows that changed since the revision it serves
-- (store::cells::load_changes): rows written after it, and rows closed after it. Without these
-- indexes each of those reads scans every row the cells table ever held.
CREATE INDEX cells_valid_from ON cells (valid_from);
CREATE INDEX cells_valid_to ON cells (valid_to) WHERE valid_to IS NOT NULL;
