/// How serious an event is; the three levels of the Python ledger (ledger.py) it replaces.
public enum Severity: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case info = 0
    case warn = 1
    case error = 2

    /// The spelling used by the store, the CLI and JSON output.
    public var name: String {
        switch self {
        case .info: "INFO"
        case .warn: "WARN"
        case .error: "ERROR"
        }
    }

    public init?(name: String) {
        switch name.uppercased() {
        case "INFO": self = .info
        case "WARN", "WARNING": self = .warn
        case "ERROR": self = .error
        default: return nil
        }
    }

    public var description: String { self.name }
}
