import Logging
import NIOConcurrencyHelpers

/// One log level for every copy of the daemon's logger, so SIGHUP can change it for all of them:
/// swift-log's `Logger` is a value copied into each part, but each copy asks its handler.
public final class LogLevelControl: Sendable {
    private let level: NIOLockedValueBox<Logger.Level>

    public init(_ level: Logger.Level) {
        self.level = NIOLockedValueBox(level)
    }

    public var current: Logger.Level {
        get { self.level.withLockedValue { $0 } }
        set { self.level.withLockedValue { $0 = newValue } }
    }

    /// A handler that logs through `handler` at the shared level.
    public func handler(_ handler: some LogHandler) -> some LogHandler {
        ControlledLogHandler(inner: handler, control: self)
    }
}

struct ControlledLogHandler<Inner: LogHandler>: LogHandler {
    var inner: Inner
    let control: LogLevelControl

    var logLevel: Logger.Level {
        get { self.control.current }
        set { self.control.current = newValue }
    }

    var metadata: Logger.Metadata {
        get { self.inner.metadata }
        set { self.inner.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.inner[metadataKey: key] }
        set { self.inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        self.inner.log(event: event)
    }
}
