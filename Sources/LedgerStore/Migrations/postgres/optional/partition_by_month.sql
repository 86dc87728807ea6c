-- Optional: time partitioning of ledger_events, for when one table is no longer
-- enough (retention by dropping old months, smaller indexes per month).
--
-- Not applied by ledgerd. Apply it once, with ledgerd stopped or paused, after
-- the numbered migrations:
--
--     psql "$LEDGER_STORE" -v ON_ERROR_STOP=1 -f Migrations/postgres/optional/partition_by_month.sql
--
-- Afterwards the primary key is (id, timestamp), as PostgreSQL requires the
-- partition key in every unique index: a retried event (same id, same timestamp)
-- is still stored once. Call ledger_ensure_month_partitions() from cron to
-- create the months ahead; rows outside every month land in ledger_events_default.
-- Retention: DROP TABLE ledger_events_yYYYYmMM.

BEGIN;

ALTER TABLE ledger_events RENAME TO ledger_events_unpartitioned;
ALTER INDEX ledger_events_pkey RENAME TO ledger_events_unpartitioned_pkey;
ALTER INDEX idx_ledger_events_timestamp RENAME TO idx_ledger_events_unpartitioned_timestamp;
ALTER INDEX idx_ledger_events_event_type RENAME TO idx_ledger_events_unpartitioned_event_type;
ALTER INDEX idx_ledger_events_job_id RENAME TO idx_ledger_events_unpartitioned_job_id;
ALTER INDEX idx_ledger_events_clip_id RENAME TO idx_ledger_events_unpartitioned_clip_id;
ALTER INDEX idx_ledger_events_entity RENAME TO idx_ledger_events_unpartitioned_entity;
ALTER INDEX idx_ledger_events_seq RENAME TO idx_ledger_events_unpartitioned_seq;

CREATE TABLE ledger_events (
    LIKE ledger_events_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (id, timestamp)
) PARTITION BY RANGE (timestamp);

CREATE INDEX idx_ledger_events_timestamp ON ledger_events (timestamp, id);
CREATE INDEX idx_ledger_events_event_type ON ledger_events (event_type, timestamp, id);
CREATE INDEX idx_ledger_events_job_id ON ledger_events (job_id, timestamp, id) WHERE job_id IS NOT NULL;
CREATE INDEX idx_ledger_events_clip_id ON ledger_events (clip_id, timestamp, id) WHERE clip_id IS NOT NULL;
CREATE INDEX idx_ledger_events_entity ON ledger_events (entity_type, entity_id, timestamp, id);
CREATE INDEX idx_ledger_events_seq ON ledger_events (seq);

CREATE TABLE ledger_events_default PARTITION OF ledger_events DEFAULT;

-- Creates the partitions of the current month and the next `months_ahead`; existing ones are kept.
CREATE FUNCTION ledger_ensure_month_partitions(months_ahead integer DEFAULT 3) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamptz;
    partition_name text;
BEGIN
    FOR step IN 0..months_ahead LOOP
        month_start := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + make_interval(months => step);
        partition_name := format('ledger_events_y%sm%s', to_char(month_start AT TIME ZONE 'UTC', 'YYYY'), to_char(month_start AT TIME ZONE 'UTC', 'MM'));
        IF to_regclass(partition_name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF ledger_events FOR VALUES FROM (%L) TO (%L)',
                partition_name, month_start, month_start + interval '1 month');
        END IF;
    END LOOP;
END;
$$;

SELECT ledger_ensure_month_partitions(3);

INSERT INTO ledger_events SELECT * FROM ledger_events_unpartitioned;
-- The sequence stays with the new table; the old one must not take it along.
ALTER TABLE ledger_events_unpartitioned ALTER COLUMN seq DROP DEFAULT;
DROP TABLE ledger_events_unpartitioned;

COMMIT;
