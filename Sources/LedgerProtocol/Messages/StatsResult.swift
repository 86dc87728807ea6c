import NIOCore

/// `stats_result` (0x92): named counters and named facts, in the daemon's order.
///
/// Names rather than fixed positions let a newer daemon add counters that an older CLI still prints.
public struct StatsResult: Sendable, Hashable {
    public struct Counter: Sendable, Hashable {
        public var name: String
        public var value: Int64

        public init(_ name: String, _ value: Int64) {
            self.name = name
            self.value = value
        }
    }

    public struct Fact: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var counters: [Counter]
    public var facts: [Fact]

    public init(counters: [Counter], facts: [Fact]) {
        self.counters = counters
        self.facts = facts
    }

    public subscript(counter name: String) -> Int64? {
        self.counters.first { $0.name == name }?.value
    }

    public subscript(fact name: String) -> String? {
        self.facts.first { $0.name == name }?.value
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(self.counters.count))
        for counter in self.counters {
            buffer.ledgerWriteString16(counter.name)
            buffer.writeInteger(counter.value)
        }
        buffer.writeInteger(UInt16(self.facts.count))
        for fact in self.facts {
            buffer.ledgerWriteString16(fact.name)
            buffer.ledgerWriteString16(fact.value)
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> StatsResult {
        let counterCount = try buffer.ledgerReadInteger(as: UInt16.self, field: "counter count")
        var counters: [Counter] = []
        for _ in 0..<counterCount {
            let name = try buffer.ledgerReadString16(field: "counter name")
            counters.append(Counter(name, try buffer.ledgerReadInteger(as: Int64.self, field: "counter value")))
        }
        let factCount = try buffer.ledgerReadInteger(as: UInt16.self, field: "fact count")
        var facts: [Fact] = []
        for _ in 0..<factCount {
            let name = try buffer.ledgerReadString16(field: "fact name")
            facts.append(Fact(name, try buffer.ledgerReadString16(field: "fact value")))
        }
        try buffer.ledgerExpectEnd(of: "stats_result")
        return StatsResult(counters: counters, facts: facts)
    }
}
