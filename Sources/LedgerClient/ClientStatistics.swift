/// What a client did with the events its host process logged.
public struct ClientStatistics: Sendable, Hashable {
    /// Events handed to the socket.
    public var sent: Int
    /// Events dropped because the daemon could not be reached (including those buffered when a connection failed).
    public var droppedUnreachable: Int
    /// Events dropped because the local buffer was full (the daemon was slower than the caller).
    public var droppedBufferFull: Int
    /// Fire-and-forget requests the daemon refused (an invalid event); they are not stored.
    public var rejected: Int
    /// Connections tried; with the daemon down this grows with the back-off schedule, not with the calls.
    public var connectionAttempts: Int = 0
    /// Gap reports the daemon has stored: each tells the operator how many events were dropped, when and why.
    public var gapReportsStored: Int = 0
    /// Drops not yet in a stored gap report; they are reported when the daemon is next reachable.
    public var dropsUnreported: Int = 0

    public var dropped: Int { self.droppedUnreachable + self.droppedBufferFull }
}
