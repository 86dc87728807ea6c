/// The segments that lead SQLite's entity, job, clip and video link indexes (migrations 6 and 7): an event's
/// segment is its commit sequence over 2^18, so ingest only ever writes the newest segment's part
/// of those indexes, and a lookup by one of their ids names the segments to seek.
enum SQLiteSegments {
    /// Every segment from the oldest stored event's to the newest's, as a subquery SQLite runs once
    /// per statement. Each bound is a `min`/`max` of `seq` on its own, which SQLite reads from the
    /// sequence index in one seek; an empty table gives no segment.
    static let all = """
        (WITH RECURSIVE segments(n) AS (
            SELECT (SELECT min(seq) FROM ledger_events) >> 18
            UNION ALL SELECT n + 1 FROM segments WHERE n < (SELECT max(seq) FROM ledger_events) >> 18
        ) SELECT n FROM segments)
        """

    /// The condition that lets a lookup of `alias` (or the statement's only table) seek each segment.
    static func among(_ alias: String?) -> String {
        (alias.map { "\($0)." } ?? "") + "segment IN " + Self.all
    }
}
