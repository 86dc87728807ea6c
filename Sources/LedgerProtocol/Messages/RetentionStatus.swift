import NIOCore

/// `retention_status` (0x97): the answer to `retention` (0x18), for `ledger-rpc retention`.
///
/// The policy, and for each rule that names an age what a pass would remove now and what passes
/// have removed, so an operator sees what leaves the ledger before it goes and after.
public struct RetentionStatus: Sendable, Hashable {
    public struct Rule: Sendable, Hashable {
        /// As `--retain` spells it: `INFO=30d`.
        public var rule: String
        /// Events timestamped before this are past the rule's age now; nil for `forever`.
        public var before: LedgerTimestamp?
        /// Stored events past the rule's age now: what the next pass removes, give or take what
        /// arrives; counted no further than `pendingCap` + 1, which means more than the cap, and
        /// `notCounted` when counting them took longer than the daemon's query budget.
        public var pending: UInt64
        /// Removed by the last pass that ran.
        public var lastRemoved: UInt64
        /// Removed since the daemon started.
        public var removedSinceStart: UInt64

        /// What `pending` says, so that no reader compares it with the markers on its own.
        public enum Pending: Sendable, Hashable {
            case exactly(UInt64)
            /// More than this many: the count stopped at the cap.
            case moreThan(UInt64)
            case notCounted
        }

        public var pendingEvents: Pending {
            if self.pending == RetentionStatus.notCounted { return .notCounted }
            return self.pending > RetentionStatus.pendingCap ? .moreThan(RetentionStatus.pendingCap) : .exactly(self.pending)
        }

        public init(rule: String, before: LedgerTimestamp?, pending: UInt64, lastRemoved: UInt64, removedSinceStart: UInt64) {
            self.rule = rule
            self.before = before
            self.pending = pending
            self.lastRemoved = lastRemoved
            self.removedSinceStart = removedSinceStart
        }
    }

    /// How far the daemon counts each rule's pending events, so the answer stays cheap on a large store.
    public static let pendingCap: UInt64 = 1_000_000

    /// A rule's pending events were not counted: the count ran past the daemon's query budget (on
    /// PostgreSQL during a purge, whose deleted rows each count visits until they are vacuumed).
    /// The rest of the answer stands.
    public static let notCounted: UInt64 = .max

    /// The whole policy as `--retain` spells it; `forever` when nothing is ever removed.
    public var policy: String
    public var rules: [Rule]
    public var lastPassStarted: LedgerTimestamp?
    public var lastPassFinished: LedgerTimestamp?
    public var nextPass: LedgerTimestamp?
    /// Why the last pass removed nothing or stopped short (another daemon held the retention lock,
    /// the store failed); empty when it ran its course.
    public var note: String

    public init(
        policy: String, rules: [Rule], lastPassStarted: LedgerTimestamp?, lastPassFinished: LedgerTimestamp?, nextPass: LedgerTimestamp?,
        note: String
    ) {
        self.policy = policy
        self.rules = rules
        self.lastPassStarted = lastPassStarted
        self.lastPassFinished = lastPassFinished
        self.nextPass = nextPass
        self.note = note
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.ledgerWriteString16(self.policy)
        buffer.ledgerWriteOptional(self.lastPassStarted) { $0.ledgerWriteTimestamp($1) }
        buffer.ledgerWriteOptional(self.lastPassFinished) { $0.ledgerWriteTimestamp($1) }
        buffer.ledgerWriteOptional(self.nextPass) { $0.ledgerWriteTimestamp($1) }
        buffer.writeInteger(UInt16(clamping: self.rules.count))
        for rule in self.rules.prefix(Int(UInt16.max)) {
            buffer.ledgerWriteString16(rule.rule)
            buffer.ledgerWriteOptional(rule.before) { $0.ledgerWriteTimestamp($1) }
            buffer.writeInteger(rule.pending)
            buffer.writeInteger(rule.lastRemoved)
            buffer.writeInteger(rule.removedSinceStart)
        }
        buffer.ledgerWriteString16(self.note)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> RetentionStatus {
        let policy = try buffer.ledgerReadString16(field: "policy")
        let started = try buffer.ledgerReadOptional(field: "last_pass_started") { (buffer: inout ByteBuffer) throws(LedgerProtocolError) in
            try buffer.ledgerReadTimestamp(field: "last_pass_started")
        }
        let finished = try buffer.ledgerReadOptional(field: "last_pass_finished") { (buffer: inout ByteBuffer) throws(LedgerProtocolError) in
            try buffer.ledgerReadTimestamp(field: "last_pass_finished")
        }
        let next = try buffer.ledgerReadOptional(field: "next_pass") { (buffer: inout ByteBuffer) throws(LedgerProtocolError) in
            try buffer.ledgerReadTimestamp(field: "next_pass")
        }
        let count = try buffer.ledgerReadInteger(as: UInt16.self, field: "rule count")
        var rules: [Rule] = []
        for _ in 0..<count {
            let rule = try buffer.ledgerReadString16(field: "rule")
            let before = try buffer.ledgerReadOptional(field: "before") { (buffer: inout ByteBuffer) throws(LedgerProtocolError) in
                try buffer.ledgerReadTimestamp(field: "before")
            }
            rules.append(
                Rule(
                    rule: rule, before: before, pending: try buffer.ledgerReadInteger(field: "pending"),
                    lastRemoved: try buffer.ledgerReadInteger(field: "last_removed"),
                    removedSinceStart: try buffer.ledgerReadInteger(field: "removed_since_start")))
        }
        let note = try buffer.ledgerReadString16(field: "note")
        try buffer.ledgerExpectEnd(of: "retention_status")
        return RetentionStatus(policy: policy, rules: rules, lastPassStarted: started, lastPassFinished: finished, nextPass: next, note: note)
    }
}
