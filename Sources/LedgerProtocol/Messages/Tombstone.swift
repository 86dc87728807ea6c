/// What retention leaves of an event it removed, beside the event's leaf record: which pass removed it.
public struct Tombstone: Sendable, Hashable {
    public var sequence: Int64
    /// The id of the pass's `ledger_retention` event.
    public var retention: String

    public init(sequence: Int64, retention: String) {
        self.sequence = sequence
        self.retention = retention
    }
}
