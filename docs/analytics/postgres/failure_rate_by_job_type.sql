-- Failure rate per job type over the last 7 days: of the jobs that finished
-- (completed or failed), the share that failed. The job type comes from the
-- job_created event's event_data.
WITH finished AS (
    SELECT job_id, bool_or(event_type = 'job_processing_failed') AS failed
      FROM ledger_events
     WHERE event_type IN ('job_processing_completed', 'job_processing_failed')
       AND timestamp >= now() - interval '7 days'
     GROUP BY job_id
)
SELECT coalesce(created.event_data ->> 'job_type', 'unknown')                AS job_type,
       count(*)                                                                AS finished,
       count(*) FILTER (WHERE finished.failed)                                 AS failed,
       round(100.0 * count(*) FILTER (WHERE finished.failed) / count(*), 1)    AS failure_rate_percent
  FROM finished
  LEFT JOIN LATERAL (SELECT event_data
                       FROM ledger_events
                      WHERE job_id = finished.job_id AND event_type = 'job_created'
                      LIMIT 1) AS created ON true
 GROUP BY 1
 ORDER BY failure_rate_percent DESC, job_type;
