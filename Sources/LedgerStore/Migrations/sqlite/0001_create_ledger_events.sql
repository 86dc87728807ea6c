-- The seed's ledger_events table. Timestamps are microseconds since the Unix
-- epoch (UTC) as INTEGER, so ordering and range scans never parse text; ids are
-- lowercase canonical UUID text, so byte order and text order agree.
CREATE TABLE ledger_events (
    id          TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    timestamp   INTEGER NOT NULL,
    event_type  TEXT    NOT NULL CHECK (length(event_type) BETWEEN 1 AND 100),
    entity_type TEXT    NOT NULL CHECK (length(entity_type) BETWEEN 1 AND 50),
    entity_id   TEXT    NOT NULL CHECK (length(entity_id) BETWEEN 1 AND 255),
    event_data  TEXT    NOT NULL DEFAULT '{}',
    severity    TEXT    NOT NULL DEFAULT 'INFO' CHECK (severity IN ('INFO', 'WARN', 'ERROR')),
    worker_id   TEXT    CHECK (worker_id IS NULL OR length(worker_id) <= 100),
    job_id      TEXT    CHECK (job_id IS NULL OR length(job_id) = 36),
    clip_id     TEXT    CHECK (clip_id IS NULL OR length(clip_id) = 36)
);

-- The seed's five indexes, each ending in (timestamp, id) so that a filtered
-- timeline is read in order from the index and a cursor resumes without a sort.
CREATE INDEX idx_ledger_events_timestamp ON ledger_events (timestamp, id);
CREATE INDEX idx_ledger_events_event_type ON ledger_events (event_type, timestamp, id);
CREATE INDEX idx_ledger_events_job_id ON ledger_events (job_id, timestamp, id) WHERE job_id IS NOT NULL;
CREATE INDEX idx_ledger_events_clip_id ON ledger_events (clip_id, timestamp, id) WHERE clip_id IS NOT NULL;
CREATE INDEX idx_ledger_events_entity ON ledger_events (entity_type, entity_id, timestamp, id);
