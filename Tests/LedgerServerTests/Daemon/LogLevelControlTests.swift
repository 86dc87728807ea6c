import Logging
import NIOConcurrencyHelpers
import Testing

@testable import LedgerServer

/// SIGHUP's new level reaches every copy of the daemon's logger, and what they log reaches the
/// handler underneath whole.
@Suite struct LogLevelControlTests {
    /// The records a handler was given, in order.
    struct Capture: LogHandler {
        let records: NIOLockedValueBox<[(Logger.Level, String, Logger.Metadata, String)]>
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
            self.records.withLockedValue { $0.append((event.level, "\(event.message)", merged, event.source)) }
        }
    }

    @Test func aCopyMadeBeforeTheLevelChangesFollowsItAndLogsWhole() {
        let records = NIOLockedValueBox<[(Logger.Level, String, Logger.Metadata, String)]>([])
        let control = LogLevelControl(.warning)
        var logger = Logger(label: "ledgerd") { _ in control.handler(Capture(records: records)) }
        logger[metadataKey: "store"] = "sqlite"
        let copy = logger

        copy.info("not yet")
        control.current = .debug
        copy.debug("committed", metadata: ["events": "3"], source: "LedgerServer")
        logger.logLevel = .error
        copy.warning("quieter now")

        let seen = records.withLockedValue { $0 }
        #expect(seen.map(\.1) == ["committed"])
        #expect(seen.first?.0 == .debug)
        #expect(seen.first?.2 == ["store": "sqlite", "events": "3"])
        #expect(seen.first?.3 == "LedgerServer")
        #expect(control.current == .error, "a level set on one copy is the level of all")
    }
}
