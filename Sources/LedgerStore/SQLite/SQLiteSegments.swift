import CSQLite

/// The segments that lead SQLite's entity, job, clip and video link indexes (migrations 6 and 7): an event's
/// segment is its commit sequence over 2^18, so ingest only ever writes the newest segment's part
/// of those indexes, and a lookup by one of their ids names the segments to seek.
///
/// A lookup by one id names its segments with the SQL function `ledger_segments(id, min_seq, max_seq)`,
/// which each reader connection provides (`SQLiteConnection.provideSegments`): a JSON array of
/// the segments from the oldest stored event's to the newest's that the lookup must seek, those
/// whose filter may hold the id (`SQLiteSegmentFilters`) and those without one.
enum SQLiteSegments {
    /// An event's segment is its sequence shifted right by this many bits.
    static let sequenceBits: Int64 = 18

    static func segment(ofSequence sequence: Int64) -> Int64 {
        sequence >> Self.sequenceBits
    }

    /// The sequences segment `segment` takes.
    static func sequences(of segment: Int64) -> ClosedRange<Int64> {
        (segment << Self.sequenceBits)...(((segment + 1) << Self.sequenceBits) - 1)
    }

    /// Every segment from the oldest stored event's to the newest's, as a subquery SQLite runs once
    /// per statement. Each bound is a `min`/`max` of `seq` on its own, which SQLite reads from the
    /// sequence index in one seek; an empty table gives no segment.
    static let all = """
        (WITH RECURSIVE segments(n) AS (
            SELECT (SELECT min(seq) FROM ledger_events) >> 18
            UNION ALL SELECT n + 1 FROM segments WHERE n < (SELECT max(seq) FROM ledger_events) >> 18
        ) SELECT n FROM segments)
        """

    /// The condition that lets a lookup of `alias` (or the statement's only table) seek each segment
    /// that may hold `key`, with the bounds read as `all` reads them.
    static func among(_ alias: String?, _ key: EventQuerySQL.SeekKey) -> String {
        let segment = (alias.map { "\($0)." } ?? "") + "segment IN "
        guard let id = key.id else { return segment + Self.all }
        return segment + """
            (SELECT value FROM json_each(ledger_segments(\(id), (SELECT min(seq) FROM ledger_events), (SELECT max(seq) FROM ledger_events))))
            """
    }

    /// A lookup of `alias` (nil: the statement's own table) whose `column` is any of the ids a
    /// subquery gives as `candidate`, each id sought in its own segments: the subquery is read
    /// first, then each id seeks the index, which SQLite does for a join in this order but not for
    /// a row value `IN`. DISTINCT seeks each id once, and keeps SQLite from merging the subquery
    /// into the join, where it would plan the subquery's own lookup worse.
    static func amongEach(_ alias: String?, column: String, subquery: String) -> String {
        let name = alias ?? "top"
        let (ids, seek) = ("\(name)_ids", "\(name)_seek")
        return """
            \(alias.map { "\($0)." } ?? "")rowid IN (SELECT \(seek).rowid FROM (SELECT DISTINCT candidate FROM (\(subquery))) \(ids) CROSS JOIN ledger_events \(seek) \
            WHERE \(Self.among(seek, EventQuerySQL.SeekKey("\(ids).candidate"))) AND \(seek).\(column) = \(ids).candidate)
            """
    }

    /// SQLite's entry point for `ledger_segments(id, min_seq, max_seq)`: the filters are the
    /// function's user data. An id that is NULL matches no row, so it seeks no segment.
    static let function: @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<OpaquePointer?>?) -> Void = { context, count, arguments in
        guard let context, let arguments, count == 3, let data = sqlite3_user_data(context) else { return }
        let filters = Unmanaged<SQLiteSegmentFilters>.fromOpaque(data).takeUnretainedValue()
        var segments: [Int64] = []
        if let id = sqlite3_value_text(arguments[0]).map({ String(cString: $0) }),
            sqlite3_value_type(arguments[1]) != SQLITE_NULL, sqlite3_value_type(arguments[2]) != SQLITE_NULL
        {
            segments = filters.segments(
                for: id, from: Self.segment(ofSequence: sqlite3_value_int64(arguments[1])), through: Self.segment(ofSequence: sqlite3_value_int64(arguments[2])))
        }
        let json = "[" + segments.map(String.init).joined(separator: ",") + "]"
        sqlite3_result_text(context, json, Int32(json.utf8.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
    }
}
