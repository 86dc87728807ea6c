-- A lookup by an entity, job, clip or video seeks its id in every segment (migrations 6 and 7):
-- about two hundred seeks at fifty million events, several times over for a timeline. Each
-- segment ingest has finished with gets a Bloom filter of the ids its events name, built by the
-- daemon in the background from the segment's part of the four indexes, so that a lookup seeks
-- only the segments that may hold its id, and each segment without a filter.
--
-- A filter is never less than its segment: events removed by retention leave their ids in it
-- (a wasted seek, not a missed event), and the daemon drops a filter if its segment ever takes
-- events again. Ten bits an id, each id once whatever it names: 0.62 bytes an event at fifty
-- million. The bits are the filter's words, little-endian, in 512-bit blocks, with a fixed hash
-- (SQLiteSegmentFilter); a change to either is a new migration that empties this table, which
-- the daemon then fills again.
CREATE TABLE ledger_segment_filters (
    segment  INTEGER PRIMARY KEY,
    ids      INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    bits     BLOB    NOT NULL
);
