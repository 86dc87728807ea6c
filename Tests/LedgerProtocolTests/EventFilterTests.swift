import Foundation
import LedgerProtocol
import Testing

/// The in-memory filter that live tails use must agree with the stores' WHERE clause.
@Suite struct EventFilterTests {
    static let job = UUID()
    static let event = LedgerEvent(
        id: UUID(), timestamp: LedgerTimestamp(rawValue: 5_000), eventType: "job_processing_failed", entityType: "job",
        entityID: "j-1", severity: .error, workerID: "w-1", jobID: job)

    @Test(arguments: [
        (EventFilter(), true),
        (EventFilter(eventType: "job_processing_failed"), true),
        (EventFilter(eventType: "job_created"), false),
        (EventFilter(entityType: "job", entityID: "j-1"), true),
        (EventFilter(entityType: "job", entityID: "j-2"), false),
        (EventFilter(jobID: job), true),
        (EventFilter(jobID: UUID()), false),
        (EventFilter(clipID: UUID()), false),
        (EventFilter(severity: .error), true),
        (EventFilter(severity: .warn), false),
        (EventFilter(workerID: "w-2"), false),
        (EventFilter(since: LedgerTimestamp(rawValue: 5_000)), true),
        (EventFilter(since: LedgerTimestamp(rawValue: 5_001)), false),
        (EventFilter(until: LedgerTimestamp(rawValue: 5_000)), false),
        (EventFilter(until: LedgerTimestamp(rawValue: 5_001)), true),
    ])
    func matchesLikeTheStores(filter: EventFilter, expected: Bool) {
        #expect(filter.matches(Self.event) == expected)
    }
}
