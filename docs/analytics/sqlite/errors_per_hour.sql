-- WARN and ERROR events per hour and event type over the last 24 hours, with
-- each hour's distance from the type's hourly mean in standard deviations
-- (hours without events count as zero), so a spike stands out.
-- Timestamps are integer microseconds; an hour is 3,600,000,000 of them.
WITH RECURSIVE hours(hour) AS (
    SELECT (CAST(strftime('%s', 'now') AS INTEGER) / 3600 - 23) * 3600000000
    UNION ALL
    SELECT hour + 3600000000 FROM hours WHERE hour < (CAST(strftime('%s', 'now') AS INTEGER) / 3600) * 3600000000
), counts AS (
    SELECT timestamp / 3600000000 * 3600000000 AS hour, event_type, severity, count(*) AS events
      FROM ledger_events
     WHERE severity IN ('WARN', 'ERROR') AND timestamp >= (SELECT min(hour) FROM hours)
     GROUP BY 1, 2, 3
), series AS (
    SELECT h.hour, k.event_type, k.severity, coalesce(c.events, 0) AS events
      FROM hours h
     CROSS JOIN (SELECT DISTINCT event_type, severity FROM counts) k
      LEFT JOIN counts c ON c.hour = h.hour AND c.event_type = k.event_type AND c.severity = k.severity
), scored AS (
    SELECT *, avg(events) OVER (PARTITION BY event_type, severity) AS mean,
           avg(events * events) OVER (PARTITION BY event_type, severity) AS square
      FROM series
)
SELECT strftime('%Y-%m-%dT%H:00Z', hour / 1000000, 'unixepoch') AS hour, severity, event_type, events,
       printf('%.1f', CASE WHEN square - mean * mean > 0 THEN (events - mean) / sqrt(square - mean * mean) ELSE 0 END) AS sigma
  FROM scored
 WHERE events > 0
 ORDER BY hour, severity, event_type;
