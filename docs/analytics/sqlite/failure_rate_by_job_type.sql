-- Failure rate per job type over the last 7 days: of the jobs that finished
-- (completed or failed), the share that failed. The job type comes from the
-- job_created event's event_data. Timestamps are integer microseconds.
-- The week's finishing events and creations are each read once through the
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
), finished AS (
    SELECT job_id, max(event_type = 'job_processing_failed') AS failed
      FROM ledger_events
     WHERE event_type IN ('job_processing_completed', 'job_processing_failed')
       AND timestamp >= (SELECT since FROM week)
     GROUP BY job_id
), created AS MATERIALIZED (
    SELECT job_id, min(job_type) AS job_type
      FROM ledger_events
     WHERE event_type = 'job_created' AND timestamp >= (SELECT since FROM week) AND job_id IS NOT NULL
     GROUP BY job_id
)
SELECT coalesce((SELECT job_type FROM created WHERE created.job_id = finished.job_id),
                (SELECT json_extract(c.event_data, '$.job_type')
                   FROM ledger_events c
                  WHERE c.segment IN (SELECT n FROM segments) AND c.job_id = finished.job_id AND +c.event_type = 'job_created'
                  LIMIT 1), 'unknown')                                         AS job_type,
       count(*)                                                                AS finished,
       count(*) FILTER (WHERE finished.failed)                                 AS failed,
       printf('%.1f', round(100.0 * count(*) FILTER (WHERE finished.failed) / count(*), 1)) AS failure_rate_percent
  FROM finished
 GROUP BY 1
 ORDER BY round(100.0 * count(*) FILTER (WHERE finished.failed) / count(*), 1) DESC, job_type;
