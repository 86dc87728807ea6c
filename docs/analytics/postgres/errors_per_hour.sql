-- WARN and ERROR events per hour and event type over the last 24 hours, with
-- each hour's distance from the type's hourly mean in standard deviations
-- (hours without events count as zero), so a spike stands out.
-- ledger-rpc report errors answers the same question from the daemon.
WITH hours AS (
    SELECT generate_series(date_trunc('hour', now() - interval '23 hours'), date_trunc('hour', now()), interval '1 hour') AS hour
), counts AS (
    SELECT date_trunc('hour', timestamp) AS hour, event_type, severity::text AS severity, count(*) AS events
      FROM ledger_events
     WHERE severity IN ('WARN', 'ERROR') AND timestamp >= date_trunc('hour', now() - interval '23 hours')
     GROUP BY 1, 2, 3
), series AS (
    SELECT h.hour, k.event_type, k.severity, coalesce(c.events, 0) AS events
      FROM hours h
     CROSS JOIN (SELECT DISTINCT event_type, severity FROM counts) k
      LEFT JOIN counts c ON c.hour = h.hour AND c.event_type = k.event_type AND c.severity = k.severity
), scored AS (
    SELECT *, avg(events) OVER (PARTITION BY event_type, severity) AS mean,
           stddev_pop(events) OVER (PARTITION BY event_type, severity) AS deviation
      FROM series
)
SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:00"Z"') AS hour, severity, event_type, events,
       round(CASE WHEN deviation > 0 THEN (events - mean) / deviation ELSE 0 END, 1) AS sigma
  FROM scored
 WHERE events > 0
 ORDER BY hour, severity, event_type;
