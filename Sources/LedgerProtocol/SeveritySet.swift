/// The severities a filter admits: one (`--severity ERROR`), several (`--severity WARN,ERROR`) or
/// everything from a level up (`--min-severity WARN`).
///
/// On the wire a set of one is the plain severity byte, which every daemon reads; a larger set is
/// `0x80` with one bit per severity, so the filter's layout stays one byte.
public struct SeveritySet: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public init(_ severity: Severity) {
        self.rawValue = 1 << severity.rawValue
    }

    public init(_ severities: some Sequence<Severity>) {
        self.rawValue = severities.reduce(0) { $0 | (1 << $1.rawValue) }
    }

    public static let info = SeveritySet(.info)
    public static let warn = SeveritySet(.warn)
    public static let error = SeveritySet(.error)
    public static let all: SeveritySet = [.info, .warn, .error]

    /// Every severity at least as serious as `minimum`.
    public static func atLeast(_ minimum: Severity) -> SeveritySet {
        SeveritySet(Severity.allCases.filter { $0.rawValue >= minimum.rawValue })
    }

    /// The members, least serious first.
    public var members: [Severity] {
        Severity.allCases.filter { self.contains(SeveritySet($0)) }
    }

    public func contains(_ severity: Severity) -> Bool {
        self.contains(SeveritySet(severity))
    }

    /// The one member of a set of one, which encodes as the plain severity byte.
    public var single: Severity? {
        let members = self.members
        return members.count == 1 ? members[0] : nil
    }

    public var description: String {
        self.members.map(\.name).joined(separator: ",")
    }

    static let setMarker: UInt8 = 0x80

    /// The filter's severity byte.
    var wireValue: UInt8 {
        self.single?.rawValue ?? (Self.setMarker | self.rawValue)
    }

    /// Reads the filter's severity byte: 0–2 for one severity, or `0x80` plus a non-empty mask of bits 0–2.
    init(wireValue: UInt8) throws(LedgerProtocolError) {
        if let severity = Severity(rawValue: wireValue) {
            self.init(severity)
            return
        }
        let mask = wireValue & ~Self.setMarker
        guard wireValue & Self.setMarker != 0, mask != 0, mask & ~Self.all.rawValue == 0 else {
            throw .invalidQuery(
                "severity is \(wireValue), expected 0 (INFO), 1 (WARN), 2 (ERROR), or 0x80 plus a non-empty set of bits 0-2")
        }
        self.init(rawValue: mask)
    }
}
