import Foundation
import LedgerProtocol
import LedgerTestSupport
import Testing

@testable import LedgerClient

/// The default socket is trusted only in a directory that is the user's own.
@Suite struct LedgerClientConfigurationTests {
    static func directory(mode: mode_t) throws -> String {
        let path = try makeTemporaryDirectory("run")
        chmod(path, mode)
        return path
    }

    @Test func theDefaultSocketInADirectoryOthersMayWriteInIsNotConnectedTo() async throws {
        let shared = try Self.directory(mode: 0o777)
        defer { try? FileManager.default.removeItem(atPath: shared) }
        let configuration = LedgerClientConfiguration.default(environment: ["XDG_RUNTIME_DIR": shared])
        #expect(configuration.untrustedSocket?.code == .untrustedSocket)
        // A log call still never throws: the event is dropped and counted, as when the daemon is away.
        let client = LedgerClient(configuration: configuration)
        client.logEvent(eventType: "job_created", entityType: "job", entityID: "j")
        let failure = await #expect(throws: LedgerClientError.self) { try await client.ping() }
        #expect(failure?.code == .untrustedSocket, "\(String(describing: failure))")
        await client.shutdown()
    }

    @Test func aPrivateDirectoryOrAnExplicitSocketIsTrusted() throws {
        let own = try Self.directory(mode: 0o700)
        defer { try? FileManager.default.removeItem(atPath: own) }
        #expect(LedgerClientConfiguration.default(environment: ["XDG_RUNTIME_DIR": own]).untrustedSocket == nil)
        let shared = try Self.directory(mode: 0o777)
        defer { try? FileManager.default.removeItem(atPath: shared) }
        // A path the user names is the user's choice.
        #expect(LedgerClientConfiguration.default(environment: ["LEDGER_SOCKET": shared + "/l.sock"]).untrustedSocket == nil)
        #expect(LedgerClientConfiguration(socketPath: shared + "/l.sock").untrustedSocket == nil)
    }
}
