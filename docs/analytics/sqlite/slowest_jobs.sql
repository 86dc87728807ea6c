-- The ten slowest jobs of the last 7 days: time from job_processing_started to
-- job_processing_completed, with the job type from its job_created event.
-- The SQLite store keeps timestamps as integer microseconds since the epoch;
-- the duration is printed as PostgreSQL prints an interval under a day.
-- The job index leads with the event's segment (its commit sequence over 2^18),
-- so each lookup by a job names the segments the store holds; "+event_type"
-- keeps SQLite from reading every event of the type instead.
WITH RECURSIVE segments(n) AS (
    SELECT (SELECT min(seq) FROM ledger_events) >> 18
    UNION ALL SELECT n + 1 FROM segments WHERE n < (SELECT max(seq) FROM ledger_events) >> 18
)
SELECT job_id, job_type,
       printf('%02d:%02d:%02d', duration / 3600000000, duration / 60000000 % 60, duration / 1000000 % 60)
         || CASE WHEN duration % 1000000 <> 0 THEN rtrim(printf('.%06d', duration % 1000000), '0') ELSE '' END AS duration,
       worker_id
FROM (
    SELECT started.job_id,
           (SELECT json_extract(c.event_data, '$.job_type')
              FROM ledger_events c
             WHERE c.segment IN (SELECT n FROM segments) AND c.job_id = started.job_id AND +c.event_type = 'job_created'
             LIMIT 1)                                   AS job_type,
           completed.timestamp - started.timestamp      AS duration,
           completed.worker_id
      FROM (SELECT job_id, min(timestamp) AS timestamp
              FROM ledger_events
             WHERE event_type = 'job_processing_started'
               AND timestamp >= (CAST(strftime('%s', 'now') AS INTEGER) - 7 * 86400) * 1000000
             GROUP BY job_id) AS started
      JOIN ledger_events AS completed
        ON completed.id = (SELECT id
                             FROM ledger_events
                            -- "+event_type": find the job by its id; SQLite would otherwise read
                            -- every completion through the event type index, which holds job ids.
                            WHERE segment IN (SELECT n FROM segments) AND job_id = started.job_id
                              AND +event_type = 'job_processing_completed'
                            ORDER BY timestamp DESC, id DESC
                            LIMIT 1)
)
ORDER BY duration DESC, job_id
LIMIT 10;
