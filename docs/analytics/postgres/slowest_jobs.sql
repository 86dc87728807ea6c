-- The ten slowest jobs of the last 7 days: time from job_processing_started to
-- job_processing_completed, with the job type from its job_created event.
SELECT started.job_id,
       created.event_data ->> 'job_type'          AS job_type,
       completed.timestamp - started.timestamp   AS duration,
       completed.worker_id
FROM (SELECT job_id, min(timestamp) AS timestamp
        FROM ledger_events
       WHERE event_type = 'job_processing_started' AND timestamp >= now() - interval '7 days'
       GROUP BY job_id) AS started
JOIN LATERAL (SELECT timestamp, worker_id
                FROM ledger_events
               WHERE job_id = started.job_id AND event_type = 'job_processing_completed'
               ORDER BY timestamp DESC, id DESC
               LIMIT 1) AS completed ON true
LEFT JOIN LATERAL (SELECT event_data
                     FROM ledger_events
                    WHERE job_id = started.job_id AND event_type = 'job_created'
                    LIMIT 1) AS created ON true
ORDER BY duration DESC, started.job_id
LIMIT 10;
