import Foundation

/// How long the ledger keeps each kind of event: `ledgerd --retain 'INFO=30d,WARN=180d,ERROR=forever'`.
///
/// An audit ledger keeps everything unless an operator says otherwise, so the empty policy keeps
/// everything and a severity without a rule is kept forever. A rule for an event type wins over its
/// severity's rule. Gap records (`ledger_gap`) are WARN and follow WARN's rule unless named; the
/// ledger's own removal records (`ledger_retention`) are kept forever unless named, so that what was
/// removed stays on record for as long as anything is.
public struct RetentionPolicy: Sendable, Hashable, CustomStringConvertible {
    /// What a rule applies to.
    public enum Selector: Sendable, Hashable {
        case severity(Severity)
        case eventType(String)
    }

    /// One `NAME=AGE` of the policy.
    public struct Rule: Sendable, Hashable, CustomStringConvertible {
        public var selector: Selector
        /// How long an event is kept after its timestamp; nil keeps it forever.
        public var keep: Duration?

        public init(selector: Selector, keep: Duration?) {
            self.selector = selector
            self.keep = keep
        }

        /// The rule as `--retain` spells it, in the largest unit that divides its age.
        public var description: String {
            let name: String
            switch self.selector {
            case .severity(let severity): name = severity.name
            case .eventType(let type): name = type
            }
            return "\(name)=\(self.keep.map(RetentionPolicy.describe) ?? "forever")"
        }
    }

    /// The rules in the order given; at most one per severity and per event type.
    public private(set) var rules: [Rule]

    /// The event type of the records the daemon writes for each removal.
    public static let recordEventType = "ledger_retention"
    /// The entity type of removal records; the entity id is the rule, as `--retain` spells it.
    public static let recordEntityType = "ledger_retention_rule"

    /// Keeps everything.
    public static let keepEverything = RetentionPolicy(checkedRules: [])

    private init(checkedRules: [Rule]) {
        self.rules = checkedRules
    }

    /// A policy of the given rules; fails as parsing does for two rules on one name.
    public init(rules: [Rule]) throws(RetentionPolicy.Problem) {
        var seen: [Selector: Rule] = [:]
        for rule in rules {
            if let earlier = seen[rule.selector] {
                throw Problem(rule: rule.description, reason: "\(earlier) already gives a rule for \(Self.name(of: rule.selector))")
            }
            if case .eventType(let type) = rule.selector, let problem = Self.eventTypeProblem(type) {
                throw Problem(rule: rule.description, reason: problem)
            }
            if let keep = rule.keep, keep < .seconds(1) {
                throw Problem(rule: rule.description, reason: "an age must be at least 1s")
            }
            seen[rule.selector] = rule
        }
        self.rules = rules
    }

    /// Parses `--retain`: comma-separated `NAME=AGE`, NAME a severity (INFO, WARN, ERROR) or an event
    /// type, AGE a number with a unit (s, min, h, d, w, y; a year is 365 days) or `forever`. The
    /// whole value `forever` (or an empty one) keeps everything.
    public init(parsing text: String) throws(RetentionPolicy.Problem) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed == "forever" {
            self = .keepEverything
            return
        }
        var rules: [Rule] = []
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let piece = part.trimmingCharacters(in: .whitespaces)
            guard !piece.isEmpty else { throw Problem(rule: trimmed, reason: "an empty rule between commas") }
            let sides = piece.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard sides.count == 2 else {
                throw Problem(rule: piece, reason: "a rule is NAME=AGE, as in INFO=30d or video_uploaded=2y")
            }
            let name = sides[0].trimmingCharacters(in: .whitespaces)
            let age = sides[1].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw Problem(rule: piece, reason: "the rule names no severity or event type") }
            let selector: Selector = Severity(name: name).map(Selector.severity) ?? .eventType(name)
            let keep: Duration?
            do throws(AgeProblem) {
                keep = try Self.parseAge(age)
            } catch {
                throw Problem(rule: piece, reason: error.reason)
            }
            rules.append(Rule(selector: selector, keep: keep))
        }
        try self.init(rules: rules)
    }

    /// The rule that decides for a stored event of this type and severity, nil when none does
    /// (kept forever).
    public func rule(forEventType type: String, severity: Severity) -> Rule? {
        if let rule = self.rules.first(where: { $0.selector == .eventType(type) }) { return rule }
        if type == Self.recordEventType { return nil }
        return self.rules.first { $0.selector == .severity(severity) }
    }

    /// The event types that have rules of their own, which every severity rule leaves alone, and
    /// the removal records, which are kept unless named.
    public var typesExemptFromSeverityRules: [String] {
        var types: [String] = self.rules.compactMap {
            if case .eventType(let type) = $0.selector { return type }
            return nil
        }
        if !types.contains(Self.recordEventType) { types.append(Self.recordEventType) }
        return types
    }

    /// The rules that remove anything.
    public var expiringRules: [Rule] { self.rules.filter { $0.keep != nil } }

    public var description: String {
        self.rules.isEmpty ? "forever" : self.rules.map(\.description).joined(separator: ",")
    }

    /// A bad `--retain` value: the rule at fault and what is wrong with it.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public var rule: String
        public var reason: String

        public var description: String { "'\(self.rule)': \(self.reason)" }
    }

    private struct AgeProblem: Error {
        var reason: String
    }

    private static let units: [(suffix: String, seconds: Int64)] = [
        ("y", 365 * 86_400), ("w", 7 * 86_400), ("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1),
    ]

    private static func parseAge(_ text: String) throws(AgeProblem) -> Duration? {
        if text == "forever" { return nil }
        guard !text.isEmpty else { throw AgeProblem(reason: "the age is missing (say 30d, or forever)") }
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = String(text.dropFirst(digits.count))
        guard !digits.isEmpty else {
            throw AgeProblem(reason: "'\(text)' is not an age: a whole number and a unit (s, min, h, d, w or y), or forever")
        }
        guard let factor = self.units.first(where: { $0.suffix == unit })?.seconds else {
            let hint = unit == "m" || unit == "M" ? " ('m' could be minutes or months: say min, or d)" : ""
            throw AgeProblem(
                reason: unit.isEmpty
                    ? "'\(text)' has no unit: say s, min, h, d, w or y"
                    : "unknown unit '\(unit)' in '\(text)': use s, min, h, d, w or y\(hint)")
        }
        guard let count = Int64(digits), case let (seconds, overflow) = count.multipliedReportingOverflow(by: factor), !overflow,
            seconds <= 1_000 * 365 * 86_400
        else {
            throw AgeProblem(reason: "'\(text)' is longer than a thousand years: say forever")
        }
        guard seconds > 0 else { throw AgeProblem(reason: "an age must be at least 1s (to keep nothing of a kind, say 1s)") }
        return .seconds(seconds)
    }

    static func describe(_ age: Duration) -> String {
        let seconds = age.components.seconds
        for unit in self.units where seconds % unit.seconds == 0 {
            return "\(seconds / unit.seconds)\(unit.suffix)"
        }
        return "\(seconds)s"
    }

    private static func name(of selector: Selector) -> String {
        switch selector {
        case .severity(let severity): "severity \(severity.name)"
        case .eventType(let type): "event type \(type)"
        }
    }

    /// Held to what an event's type may be, so a rule can name only a type the ledger could hold.
    private static func eventTypeProblem(_ type: String) -> String? {
        let probe = LedgerEvent(id: LedgerEvent.unassignedID, eventType: type, entityType: "e", entityID: "e")
        do throws(LedgerProtocolError) {
            try probe.validate()
            return nil
        } catch {
            return error.message
        }
    }
}
