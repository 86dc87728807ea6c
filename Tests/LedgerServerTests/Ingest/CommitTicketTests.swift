import LedgerProtocol
import Testing

@testable import LedgerServer

/// The ticket between the batch writer and the connection that owes the ack.
@Suite struct CommitTicketTests {
    static let storeDown = LedgerProtocolError(code: .storeUnavailable, message: "the store is down")

    @Test func aWaiterIsResumedWhenTheCommitLands() async throws {
        let ticket = CommitTicket()
        #expect(ticket.settled == nil)
        let waiter = Task { try await ticket.wait() }
        ticket.succeed()
        try await waiter.value
        #expect(try ticket.settled?.get() != nil)
    }

    @Test func aTicketSettledBeforeTheWaitReturnsAtOnce() async throws {
        let ticket = CommitTicket()
        ticket.succeed()
        try await ticket.wait()
    }

    @Test func aFailureReachesTheWaiterAsItsError() async throws {
        let ticket = CommitTicket()
        let waiter = Task { try await ticket.wait() }
        ticket.fail(Self.storeDown)
        let error = await #expect(throws: LedgerProtocolError.self) { try await waiter.value }
        #expect(error?.code == .storeUnavailable)
    }

    @Test func onlyTheFirstOutcomeCounts() async throws {
        let ticket = CommitTicket()
        ticket.fail(Self.storeDown)
        ticket.succeed()
        await #expect(throws: LedgerProtocolError.self) { try await ticket.wait() }
        guard case .failure = ticket.settled else {
            Issue.record("the ticket should still hold the failure, holds \(String(describing: ticket.settled))")
            return
        }
    }
}
