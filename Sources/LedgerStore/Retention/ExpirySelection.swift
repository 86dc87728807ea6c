import Foundation
import LedgerProtocol

/// The events one retention rule removes in one pass: those it decides for, timestamped before
/// the rule's cutoff, and committed before the pass's own record, so that the record's count and
/// range describe exactly what the pass removes, whatever arrives while it runs.
public struct ExpirySelection: Sendable, Hashable {
    public var rule: RetentionPolicy.Rule
    /// Events timestamped before this are expired.
    public var before: LedgerTimestamp
    /// The newest commit the pass may remove: the one before its record.
    public var throughSequence: Int64
    /// Event types a severity rule leaves alone: those with rules of their own, and the removal records.
    public var exemptTypes: [String]
    /// The id of the pass's own `ledger_retention` event, which the tombstone of each event it
    /// removes names (docs/VERIFY.md, "Retention").
    public var record: UUID?

    public init(rule: RetentionPolicy.Rule, before: LedgerTimestamp, throughSequence: Int64, exemptTypes: [String]) {
        self.rule = rule
        self.before = before
        self.throughSequence = throughSequence
        self.exemptTypes = exemptTypes
    }

    /// The selection of `rule` under `policy` for a pass whose cutoff is `now` less the rule's age;
    /// nil for a rule that keeps its events forever.
    public init?(rule: RetentionPolicy.Rule, of policy: RetentionPolicy, now: LedgerTimestamp, throughSequence: Int64) {
        guard let keep = rule.keep else { return nil }
        let age = keep.components.seconds * 1_000_000
        self.init(
            rule: rule, before: LedgerTimestamp(rawValue: now.rawValue - age), throughSequence: throughSequence,
            exemptTypes: policy.typesExemptFromSeverityRules)
    }

    /// Whether the selection takes this stored event.
    public func contains(_ event: LedgerEvent) -> Bool {
        guard let timestamp = event.timestamp, timestamp < self.before, let sequence = event.sequence, sequence <= self.throughSequence else {
            return false
        }
        switch self.rule.selector {
        case .eventType(let type): return event.eventType == type
        case .severity(let severity): return event.severity == severity && !self.exemptTypes.contains(event.eventType)
        }
    }

    /// The selection's conditions, after `cursor` in (timestamp, id) order when given.
    func sql(
        after cursor: EventCursor?, placeholder: @escaping (Int) -> String, timestampEncoding: EventQuerySQL.TimestampEncoding = .microseconds,
        uuidCast: String = ""
    ) -> EventQuerySQL {
        var filter = EventFilter(until: self.before)
        switch self.rule.selector {
        case .eventType(let type): filter.eventType = type
        case .severity(let severity): filter.severities = SeveritySet(severity)
        }
        var sql = EventQuerySQL(filter: filter, placeholder: placeholder, timestampEncoding: timestampEncoding, uuidCast: uuidCast)
        if case .severity = self.rule.selector, !self.exemptTypes.isEmpty {
            let markers = self.exemptTypes.map { sql.bind(.text($0)) }
            sql.add(condition: "event_type NOT IN (\(markers.joined(separator: ", ")))")
        }
        sql.add(throughSequence: self.throughSequence)
        if let cursor { sql.add(after: cursor, order: .oldestFirst) }
        return sql
    }
}

/// What one slice of a pass removed, and where the next resumes.
public struct ExpiryProgress: Sendable, Hashable {
    public var removed: Int
    /// The last removed event's key; the next slice starts after it.
    public var last: EventCursor?
    /// The bytes the slice wrote to the server's write-ahead log, for a store that can tell
    /// (PostgreSQL): what every commit's flush waits on besides its own, so the purge is paced by it.
    public var logBytes: UInt64?

    public init(removed: Int, last: EventCursor?, logBytes: UInt64? = nil) {
        self.removed = removed
        self.last = last
        self.logBytes = logBytes
    }
}

/// What a pass would remove under one rule: how many events, timestamped from `oldest` to `newest`.
public struct ExpirySummary: Sendable, Hashable {
    public var events: UInt64
    public var oldest: LedgerTimestamp?
    public var newest: LedgerTimestamp?

    public init(events: UInt64, oldest: LedgerTimestamp?, newest: LedgerTimestamp?) {
        self.events = events
        self.oldest = oldest
        self.newest = newest
    }
}
