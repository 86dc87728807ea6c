-- The commit sequence: the order in which events were stored, which is not
-- timestamp order. Live tails resume by it. Existing rows keep their insertion
-- order (rowid).
ALTER TABLE ledger_events ADD COLUMN seq INTEGER;
UPDATE ledger_events SET seq = rowid;
CREATE UNIQUE INDEX idx_ledger_events_seq ON ledger_events (seq);
