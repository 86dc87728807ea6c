-- The job index leads with the event's segment too (migration 6 did the entity, clip and
-- video link indexes). Job ids arrive in no order: each new job's first event landed on a
-- leaf of the index nobody had touched lately, and once the index outgrew the cache, that
-- leaf was read in and written out again for every job. On a store of twelve million
-- events, acked ingest at the deep-pipeline shape ran at about half a fresh store's with
-- the index in its old form, and at 0.8 with it segmented; the log took 13 KB an event
-- against 5.5 KB.
--
-- A lookup by job now seeks each segment, as one by entity or clip does: forty seeks at
-- ten million events, under two hundred at fifty. The reports look a job's finishing
-- event up by its timestamp, which their pass over the window found, so only a job's
-- creation, first start and history before the window are sought segment by segment.
-- Rebuilding the index takes about 3.5 s per million events stored, once.
DROP INDEX idx_ledger_events_job_id;
CREATE INDEX idx_ledger_events_job_id ON ledger_events (segment, job_id, timestamp, id) WHERE job_id IS NOT NULL;
