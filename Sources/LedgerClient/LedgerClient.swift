import Foundation
import LedgerFiles
import LedgerProtocol
import NIOConcurrencyHelpers
import NIOCore

/// The thin client that services embed to record audit events.
///
/// The `log…` calls are fire-and-forget: they never throw, never crash the
/// process (no SIGPIPE; NIO writes with MSG_NOSIGNAL), and return after a lock
/// and an encode. When the daemon is unreachable events are dropped and
/// counted in `statistics`. Use the `…Acknowledged` variants or `flush(timeout:)`
/// where a caller needs to know the event is durable.
public final class LedgerClient: Sendable {
    let connection: ClientConnection

    public init(configuration: LedgerClientConfiguration = .default()) {
        self.connection = ClientConnection(configuration: configuration)
    }

    public convenience init(socketPath: String) {
        self.init(configuration: LedgerClientConfiguration(socketPath: socketPath))
    }

    /// What happened to the events logged so far.
    public var statistics: ClientStatistics {
        self.connection.statistics
    }

    /// Closes the connection; later calls drop their events and requests fail.
    public func shutdown() async {
        await self.connection.shutdown()
    }

    /// Runs `body` with this client, then shuts it down whether the body returned or threw, so a
    /// short-lived tool never leaves its connection to the process's exit.
    public func executeThenShutdown<Result>(_ body: (LedgerClient) async throws -> Result) async throws -> Result {
        do {
            let result = try await body(self)
            await self.shutdown()
            return result
        } catch {
            await self.shutdown()
            throw error
        }
    }

    // MARK: Fire-and-forget

    /// Records an event; as ledger.py's `log_event`.
    /// - Parameter metadata: a JSON object as text; an invalid one is refused by the daemon and counted in `statistics.rejected`.
    /// - Returns: the event's id, assigned here (UUIDv7) so a caller can refer to it later.
    @discardableResult
    public func logEvent(
        eventType: String, entityType: String, entityID: String, metadata: String = "{}", severity: Severity = .info,
        workerID: String? = nil, jobID: UUID? = nil, clipID: UUID? = nil
    ) -> UUID {
        let event = Self.makeEvent(
            eventType: eventType, entityType: entityType, entityID: entityID, metadata: metadata, severity: severity,
            workerID: workerID, jobID: jobID, clipID: clipID)
        self.connection.enqueue(.logEvent(LogEvent(event: event)), events: 1)
        return event.id
    }

    /// Records an event about a job; as ledger.py's `log_job_event`.
    @discardableResult
    public func logJobEvent(
        jobID: UUID, eventType: String, metadata: String = "{}", severity: Severity = .info, workerID: String? = nil,
        clipID: UUID? = nil
    ) -> UUID {
        let (id, timestamp) = Self.newIDAndTimestamp()
        let message = LogJobEvent(
            id: id, timestamp: timestamp, jobID: jobID, eventType: eventType, severity: severity,
            workerID: workerID, clipID: clipID, metadata: metadata)
        self.connection.enqueue(.logJobEvent(message), events: 1)
        return message.id
    }

    /// Records an event about a clip; as ledger.py's `log_clip_event`.
    @discardableResult
    public func logClipEvent(
        clipID: UUID, eventType: String, metadata: String = "{}", severity: Severity = .info, jobID: UUID? = nil,
        workerID: String? = nil
    ) -> UUID {
        let (id, timestamp) = Self.newIDAndTimestamp()
        let message = LogClipEvent(
            id: id, timestamp: timestamp, clipID: clipID, eventType: eventType, severity: severity,
            workerID: workerID, jobID: jobID, metadata: metadata)
        self.connection.enqueue(.logClipEvent(message), events: 1)
        return message.id
    }

    /// Records many events in one frame; the daemon accepts or refuses them together.
    public func logBatch(_ events: [LedgerEvent]) {
        guard !events.isEmpty else { return }
        self.connection.enqueue(.logBatch(LogBatch(events: events)), events: events.count)
    }

    // MARK: Acknowledged

    /// Sends one event and returns once the daemon has committed it.
    ///
    /// Retrying after an error is safe: the id is the primary key, so the event is stored once.
    /// - Throws: `LedgerClientError` when the daemon is unreachable, refuses the event, or does not answer in time.
    public func logAcknowledged(_ event: LedgerEvent) async throws {
        _ = try await self.connection.request(.logEvent(LogEvent(event: event, acknowledged: true)))
    }

    /// Sends a batch and returns once all of it is committed.
    public func logAcknowledged(_ events: [LedgerEvent]) async throws {
        guard !events.isEmpty else { return }
        _ = try await self.connection.request(.logBatch(LogBatch(events: events, acknowledged: true)))
    }

    /// Waits until everything logged before this call is committed, and every drop not yet
    /// reported is stored as a gap record.
    ///
    /// - Returns: true when the daemon confirmed it and no event was dropped since the
    ///   previous flush; false on timeout, when the daemon is unreachable, or after a drop.
    public func flush(timeout: Duration = .seconds(5)) async -> Bool {
        self.connection.reportGapsNow()
        let confirmed: Bool = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await self.connection.request(.sync)) != nil }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        let statistics = self.statistics
        let lost = statistics.dropped + statistics.rejected
        let lostBefore = self.flushBaseline.exchange(lost)
        return confirmed && lost == lostBefore
    }

    private let flushBaseline = DropBaseline()

    // MARK: Helpers

    /// Builds an event with a fresh UUIDv7 and the current time.
    public static func makeEvent(
        eventType: String, entityType: String, entityID: String, metadata: String = "{}", severity: Severity = .info,
        workerID: String? = nil, jobID: UUID? = nil, clipID: UUID? = nil
    ) -> LedgerEvent {
        let (id, timestamp) = self.newIDAndTimestamp()
        return LedgerEvent(
            id: id, timestamp: timestamp, eventType: eventType, entityType: entityType, entityID: entityID,
            metadata: metadata, severity: severity, workerID: workerID, jobID: jobID, clipID: clipID)
    }

    /// A fresh UUIDv7 and the current time from one clock read.
    static func newIDAndTimestamp() -> (UUID, LedgerTimestamp) {
        let now = LedgerTimestamp.now()
        return (EventIDGenerator.shared.next(unixMilliseconds: UInt64(now.rawValue / 1_000)), now)
    }
}

/// The drop count seen at the previous flush, so each flush reports only new loss.
final class DropBaseline: Sendable {
    private let value = NIOLockedValueBox(0)

    func exchange(_ newValue: Int) -> Int {
        self.value.withLockedValue { value in
            defer { value = newValue }
            return value
        }
    }
}
