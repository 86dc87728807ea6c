/// The part of the server's write-ahead log that retention's slices write themselves. The log's
/// position is the whole server's, so its growth over a slice includes what ingest, autovacuum and
/// other databases wrote meanwhile; that part is taken at the rate the server wrote between the
/// previous slice's end and this one's start. On a shared server (in the tests, every other test's
/// database) a pace on the whole log starved the purge.
struct PostgresLogShare: Sendable {
    private var previousEnd: (position: UInt64, at: ContinuousClock.Instant)?

    /// - Returns: the bytes the slice wrote, as near as can be told: at most the log's growth over
    ///   it, and never less than nothing.
    mutating func slice(
        from start: UInt64, at began: ContinuousClock.Instant, to end: UInt64, at ended: ContinuousClock.Instant
    ) -> UInt64 {
        defer { self.previousEnd = (end, ended) }
        let grown = end >= start ? end - start : 0
        guard let previous = self.previousEnd, start >= previous.position, previous.at < began else { return grown }
        let rate = Double(start - previous.position) / ((began - previous.at) / .seconds(1))
        let others = rate * ((ended - began) / .seconds(1))
        return others >= Double(grown) ? 0 : grown - UInt64(others)
    }
}
