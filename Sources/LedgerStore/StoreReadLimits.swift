/// How a store serves reads: how many at once, and how long each may take.
public struct StoreReadLimits: Sendable, Hashable {
    /// Connections that answer queries side by side.
    public var readers: Int = 2
    /// Longest a query may run before the store stops it (`timed out`); nil lets it run.
    public var queryTimeout: Duration? = .seconds(5)

    public init(readers: Int = 2, queryTimeout: Duration? = .seconds(5)) {
        self.readers = readers
        self.queryTimeout = queryTimeout
    }
}
