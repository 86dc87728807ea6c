-- The ten slowest jobs of the last 7 days: time from job_processing_started to
-- job_processing_completed, with the job type from its job_created event.
-- The SQLite store keeps timestamps as integer microseconds since the epoch;
-- the duration is printed as PostgreSQL prints an interval under a day.
-- The week's starts, completions and creations are each read once through the
-- event type index, so the cost follows the week, not the ledger. Only a job
-- created before the week is looked up by its id: the job index leads with the
-- event's segment (its commit sequence over 2^18), so that lookup names the
-- segments the store holds, and "+event_type" keeps SQLite from reading every
-- creation instead.
WITH RECURSIVE segments(n) AS (
    SELECT (SELECT min(seq) FROM ledger_events) >> 18
    UNION ALL SELECT n + 1 FROM segments WHERE n < (SELECT max(seq) FROM ledger_events) >> 18
), week(since) AS (
    SELECT (CAST(strftime('%s', 'now') AS INTEGER) - 7 * 86400) * 1000000
), started AS (
    SELECT job_id, min(timestamp) AS timestamp
      FROM ledger_events
     WHERE event_type = 'job_processing_started' AND timestamp >= (SELECT since FROM week)
     GROUP BY job_id
), completed AS MATERIALIZED (
    SELECT job_id, timestamp, worker_id
      FROM (SELECT job_id, timestamp, worker_id,
                   row_number() OVER (PARTITION BY job_id ORDER BY timestamp DESC, id DESC) AS latest
              FROM ledger_events
             WHERE event_type = 'job_processing_completed' AND timestamp >= (SELECT since FROM week))
     WHERE latest = 1
), created AS MATERIALIZED (
    SELECT job_id, min(job_type) AS job_type
      FROM ledger_events
     WHERE event_type = 'job_created' AND timestamp >= (SELECT since FROM week) AND job_id IS NOT NULL
     GROUP BY job_id
)
SELECT job_id, job_type,
       printf('%02d:%02d:%02d', duration / 3600000000, duration / 60000000 % 60, duration / 1000000 % 60)
         || CASE WHEN duration % 1000000 <> 0 THEN rtrim(printf('.%06d', duration % 1000000), '0') ELSE '' END AS duration,
       worker_id
FROM (
    SELECT started.job_id,
           coalesce((SELECT job_type FROM created WHERE created.job_id = started.job_id),
                    (SELECT json_extract(c.event_data, '$.job_type')
                       FROM ledger_events c
                      WHERE c.segment IN (SELECT n FROM segments) AND c.job_id = started.job_id AND +c.event_type = 'job_created'
                      LIMIT 1))                         AS job_type,
           completed.timestamp - started.timestamp      AS duration,
           completed.worker_id
      FROM started JOIN completed ON completed.job_id = started.job_id
)
ORDER BY duration DESC, job_id
LIMIT 10;
