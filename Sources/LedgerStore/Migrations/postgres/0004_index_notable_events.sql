-- WARN and ERROR events in time order: what `--min-severity WARN`, `query errors`
-- and `report errors` read. Partial, so it holds only the rare notable events and
-- costs INFO ingest nothing. Queries name `severity <> 'INFO'` to use it.
CREATE INDEX idx_ledger_events_notable ON ledger_events (timestamp, id) WHERE severity <> 'INFO';
