-- Monthly partitions. ledger_events becomes a table partitioned by timestamp, one partition per
-- calendar month (UTC): the indexes that ingest writes are then the current month's, which stay
-- small and cached, instead of the whole ledger's, whose random-key pages (job, clip and entity
-- ids) outgrow memory and cost a page read and a full-page write per event (BENCHMARKS.md,
-- growth). Queries are unchanged; a time range reads only its months.
--
-- The existing table becomes the first partition as it is, without building an index: it keeps
-- every timestamp before the start of this month. This month's rows (and any stamped later) are
-- copied into this month's partition, so ingest writes small indexes from the start; on a large
-- store that copy is what takes the time (about a minute per million rows). ledgerd makes each
-- later month's partition ahead of time (ledger_ensure_month_partition). An event stamped past
-- every partition waits in ledger_events_default until its month's partition is made, which
-- takes it.
--
-- Dedupe: each partition has its own unique index on id, and ledgerd's inserts skip a row that
-- conflicts with any unique index, so a retried event (the same id and timestamp, as every client
-- resends it) is stored once. PostgreSQL cannot hold one id unique across partitions: the same id
-- sent with timestamps in two different months would be stored twice.

ALTER TABLE ledger_events RENAME TO ledger_events_first;
ALTER INDEX ledger_events_pkey RENAME TO ledger_events_first_pkey;
ALTER INDEX idx_ledger_events_timestamp RENAME TO ledger_events_first_timestamp;
ALTER INDEX idx_ledger_events_event_type RENAME TO ledger_events_first_event_type;
ALTER INDEX idx_ledger_events_job_id RENAME TO ledger_events_first_job_id;
ALTER INDEX idx_ledger_events_clip_id RENAME TO ledger_events_first_clip_id;
ALTER INDEX idx_ledger_events_entity RENAME TO ledger_events_first_entity;
ALTER INDEX idx_ledger_events_seq RENAME TO ledger_events_first_seq;
ALTER INDEX idx_ledger_events_notable RENAME TO ledger_events_first_notable;
ALTER INDEX idx_ledger_events_video_link RENAME TO ledger_events_first_video_link;

CREATE TABLE ledger_events (
    LIKE ledger_events_first INCLUDING DEFAULTS INCLUDING CONSTRAINTS
) PARTITION BY RANGE (timestamp);

-- The start of the month (UTC) that holds `at`, and of the month after it: computed on timestamps
-- without a time zone, as month arithmetic on timestamptz follows the session's time zone.
CREATE FUNCTION ledger_month_start(at timestamptz, months integer DEFAULT 0) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT (date_trunc('month', at AT TIME ZONE 'UTC') + make_interval(months => months)) AT TIME ZONE 'UTC'
$$;

DO $$
DECLARE
    bound timestamptz := ledger_month_start(now());
BEGIN
    -- This month's rows, and any stamped later, leave the first partition, and come back below.
    CREATE TEMP TABLE ledger_events_later ON COMMIT DROP AS SELECT * FROM ledger_events_first WHERE timestamp >= bound;
    DELETE FROM ledger_events_first WHERE timestamp >= bound;
    -- With this check in place the attach trusts it rather than reading the table a second time.
    EXECUTE format('ALTER TABLE ledger_events_first ADD CONSTRAINT ledger_events_first_range CHECK (timestamp < %L)', bound);
    EXECUTE format('ALTER TABLE ledger_events ATTACH PARTITION ledger_events_first FOR VALUES FROM (MINVALUE) TO (%L)', bound);
    ALTER TABLE ledger_events_first DROP CONSTRAINT ledger_events_first_range;
END;
$$;

-- Each takes over the first partition's index of the same definition, without building it, and
-- is made on every later partition.
CREATE INDEX idx_ledger_events_timestamp ON ledger_events (timestamp, id);
CREATE INDEX idx_ledger_events_event_type ON ledger_events (event_type, timestamp, id);
CREATE INDEX idx_ledger_events_job_id ON ledger_events (job_id, timestamp, id) WHERE job_id IS NOT NULL;
CREATE INDEX idx_ledger_events_clip_id ON ledger_events (clip_id, timestamp, id) WHERE clip_id IS NOT NULL;
CREATE INDEX idx_ledger_events_entity ON ledger_events (entity_type, entity_id, timestamp, id);
CREATE INDEX idx_ledger_events_seq ON ledger_events (seq);
CREATE INDEX idx_ledger_events_notable ON ledger_events (timestamp, id) WHERE severity <> 'INFO';
CREATE INDEX idx_ledger_events_video_link ON ledger_events ((event_data ->> 'video_id')) WHERE event_type = 'job_created';

CREATE TABLE ledger_events_default PARTITION OF ledger_events DEFAULT;
CREATE UNIQUE INDEX ledger_events_default_id ON ledger_events_default (id);

-- Makes the partition of the month (UTC) that holds `at`, unless a partition already covers that
-- month, and moves into it what the default partition holds of the month. Returns whether it made
-- one. Several ledgerds may call it at once: they take turns under a transaction advisory lock.
--
-- The partition is made as a table of its own and then attached, which locks the parent table
-- against schema changes only: ingest and queries go on. Its indexes are made while it is empty.
CREATE FUNCTION ledger_ensure_month_partition(at timestamptz) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamptz := ledger_month_start(at);
    month_end timestamptz := ledger_month_start(at, 1);
    name text := 'ledger_events_' || to_char(at AT TIME ZONE 'UTC', '"y"YYYY"m"MM');
BEGIN
    -- "partition": 112 97 114 116.
    PERFORM pg_advisory_xact_lock(112097114116);
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- A month inside another partition's range (the first partition's) keeps going there.
    IF EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = 'ledger_events'::regclass AND ledger_partition_covers(inhrelid, month_start)) THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE ledger_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I (id)', name || '_id', name);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (timestamp >= %L AND timestamp < %L)', name, name || '_range', month_start, month_end);
    -- What the default partition holds of the month moves in first, as attaching checks that it
    -- holds none; the lock keeps an insert from landing there in between (only rows routed there wait).
    LOCK TABLE ledger_events_default IN SHARE MODE;
    EXECUTE format(
        'WITH moved AS (DELETE FROM ledger_events_default WHERE timestamp >= %L AND timestamp < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
        month_start, month_end, name);
    EXECUTE format('ALTER TABLE ledger_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, month_start, month_end);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', name, name || '_range');
    RETURN true;
END;
$$;

-- Whether partition `part` of ledger_events takes rows stamped `at`, read from its bound as
-- PostgreSQL prints it: FOR VALUES FROM (lower) TO (upper), either one possibly MINVALUE or MAXVALUE.
CREATE FUNCTION ledger_partition_covers(part oid, at timestamptz) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    bound text := pg_get_expr((SELECT relpartbound FROM pg_class WHERE oid = part), part);
    lower text := substring(bound FROM 'FROM \((.*)\) TO');
    upper text := substring(bound FROM 'TO \((.*)\)$');
BEGIN
    IF lower IS NULL OR upper IS NULL THEN
        RETURN false;
    END IF;
    RETURN (lower = 'MINVALUE' OR at >= trim(both '''' FROM lower)::timestamptz)
       AND (upper = 'MAXVALUE' OR at < trim(both '''' FROM upper)::timestamptz);
END;
$$;

SELECT ledger_ensure_month_partition(now());
SELECT ledger_ensure_month_partition(ledger_month_start(now(), 1));

INSERT INTO ledger_events SELECT * FROM ledger_events_later;
