-- The commit sequence: the order in which events were stored, which is not
-- timestamp order. Live tails resume by it. Existing rows are numbered in
-- (timestamp, id) order. A sequence with a default (rather than an identity
-- column) keeps working on the optional partitioned layout.
CREATE SEQUENCE ledger_events_seq AS bigint;
ALTER TABLE ledger_events ADD COLUMN seq bigint;
UPDATE ledger_events AS e SET seq = numbered.n
  FROM (SELECT id, row_number() OVER (ORDER BY timestamp, id) AS n FROM ledger_events) AS numbered
 WHERE e.id = numbered.id;
SELECT setval('ledger_events_seq', coalesce((SELECT max(seq) FROM ledger_events), 0) + 1, false);
ALTER TABLE ledger_events ALTER COLUMN seq SET DEFAULT nextval('ledger_events_seq'), ALTER COLUMN seq SET NOT NULL;
CREATE INDEX idx_ledger_events_seq ON ledger_events (seq);
