-- The seed's ledger_events table: uuid ids, timestamptz (microseconds), the
-- seed's varchar lengths, jsonb event data and an enum for severity.
CREATE TYPE event_severity AS ENUM ('INFO', 'WARN', 'ERROR');

CREATE TABLE ledger_events (
    id          uuid           NOT NULL PRIMARY KEY,
    timestamp   timestamptz    NOT NULL DEFAULT now(),
    event_type  varchar(100)   NOT NULL,
    entity_type varchar(50)    NOT NULL,
    entity_id   varchar(255)   NOT NULL,
    event_data  jsonb          NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(event_data) = 'object'),
    severity    event_severity NOT NULL DEFAULT 'INFO',
    worker_id   varchar(100),
    job_id      uuid,
    clip_id     uuid
);

-- The seed's five indexes, each ending in (timestamp, id) so that a filtered
-- timeline is read in order from the index and a cursor resumes without a sort.
CREATE INDEX idx_ledger_events_timestamp ON ledger_events (timestamp, id);
CREATE INDEX idx_ledger_events_event_type ON ledger_events (event_type, timestamp, id);
CREATE INDEX idx_ledger_events_job_id ON ledger_events (job_id, timestamp, id) WHERE job_id IS NOT NULL;
CREATE INDEX idx_ledger_events_clip_id ON ledger_events (clip_id, timestamp, id) WHERE clip_id IS NOT NULL;
CREATE INDEX idx_ledger_events_entity ON ledger_events (entity_type, entity_id, timestamp, id);
