-- Two partial indexes for the operator's questions, each small and each costing
-- ingest only for the few rows it holds.
--
-- WARN and ERROR events in time order: what `--min-severity WARN`, `query errors`
-- and `report errors` read. Queries name `severity <> 'INFO'` to use it.
CREATE INDEX idx_ledger_events_notable ON ledger_events (timestamp, id) WHERE severity <> 'INFO';
-- The video each job was created for: what `ledger-rpc timeline video_asset ID`
-- follows from a video to its jobs.
CREATE INDEX idx_ledger_events_video_link ON ledger_events (json_extract(event_data, '$.video_id')) WHERE event_type = 'job_created';
