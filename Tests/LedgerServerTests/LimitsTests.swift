import Foundation
import LedgerProtocol
import LedgerServer
import LedgerTestSupport
import NIOCore
import Testing

/// Connection limits: each gets its documented error, is counted, and leaves other connections working.
@Suite struct LimitsTests {
    static func counter(_ name: String, _ socket: RawSocket) async throws -> Int64? {
        guard case .stats(let stats) = try await socket.request(.stats, requestID: 77) else { return nil }
        return stats[counter: name]
    }

    @Test func connectionsPastTheMaximumAreTurnedAway() async throws {
        let server = try await TestServer.start { $0.maximumConnections = 2 }
        let first = try RawSocket(path: server.socketPath)
        let second = try RawSocket(path: server.socketPath)
        #expect(try await first.request(.ping) != nil)
        #expect(try await second.request(.ping) != nil)

        let third = try RawSocket(path: server.socketPath)
        let refusal = try #require(try await third.receive())
        guard case .error(let error) = refusal.response else {
            Issue.record("expected an error, got \(refusal.response)")
            return
        }
        #expect(error.code == .tooManyConnections && error.closesConnection && refusal.requestID == 0)
        #expect(try await third.receive() == nil, "and the connection is closed")
        #expect(try await Self.counter("connections_over_limit", first) == 1)
        #expect(try await second.request(.ping) != nil, "the others keep working")
        try await server.stopAndRemove()
    }

    @Test func aFrameThatNeverFinishesIsCutOff() async throws {
        let server = try await TestServer.start { $0.frameDeadline = .milliseconds(300) }
        let loris = try RawSocket(path: server.socketPath)
        var frame = ByteBuffer()
        LedgerRequest.ping.encode(requestID: 5, into: &frame)
        // A whole frame first: finished frames never count against the deadline.
        loris.send(Array(frame.readableBytesView))
        #expect(try await loris.receive()?.requestID == 5)
        loris.send(Array(frame.readableBytesView.prefix(7)))
        let answer = try #require(try await loris.receive())
        guard case .error(let error) = answer.response else {
            Issue.record("expected FRAME_TIMEOUT, got \(answer.response)")
            return
        }
        #expect(error.code == .frameTimeout && error.closesConnection)
        #expect(try await loris.receive() == nil)

        let other = try RawSocket(path: server.socketPath)
        #expect(try await Self.counter("frames_timed_out", other) == 1)
        try await server.stopAndRemove()
    }

    @Test func quietConnectionsAreClosedButTailsAreNot() async throws {
        // Long enough that even a starved test process (a sanitizer, the suite in parallel) sends its subscribe in time.
        let server = try await TestServer.start { $0.idleTimeout = .seconds(15) }
        let tail = try RawSocket(path: server.socketPath, receiveTimeoutSeconds: 60)
        tail.send(.subscribe(SubscribeRequest()), requestID: 1)
        #expect(try await tail.receive()?.response == .tail(TailBatch(events: [])))
        // Says nothing at all; the daemon ends it with IDLE_TIMEOUT.
        let quiet = try RawSocket(path: server.socketPath, receiveTimeoutSeconds: 60)
        let closing = try #require(try await quiet.receive())
        guard case .error(let error) = closing.response else {
            Issue.record("expected IDLE_TIMEOUT, got \(closing.response)")
            return
        }
        #expect(error.code == .idleTimeout && error.closesConnection && closing.requestID == 0)
        #expect(try await quiet.receive() == nil)

        // By now the tail has been quiet longer than the timeout too.
        let writer = try RawSocket(path: server.socketPath)
        let event = LedgerEvent(id: UUID(), eventType: "clip_created", entityType: "clip", entityID: "c")
        #expect(try await writer.request(.logEvent(LogEvent(event: event, acknowledged: true))) == .ack(Ack(committed: 1)))
        guard case .tail(let batch) = try #require(try await tail.receive()).response else {
            Issue.record("the quiet tail should still be open")
            return
        }
        #expect(batch.events.map(\.id) == [event.id])
        #expect(try await Self.counter("connections_idle_closed", writer) == 1)
        try await server.stopAndRemove()
    }
}
