import Foundation
import LedgerClient
import LedgerProtocol
import LedgerTestSupport
import Testing

/// Every promise and waiter the client makes ends, on every path a connection can take.
@Suite struct ClientConnectionPathsTests {
    /// A TLS endpoint with files that parse; the tests never get as far as using them on a live daemon.
    static func tlsConfiguration(port: Int, host: String = "127.0.0.1") async throws -> LedgerClientConfiguration {
        let certificates = try await TestCertificates.make()
        var configuration = LedgerClientConfiguration(socketPath: "/nonexistent")
        configuration.tls = LedgerTLSEndpoint(
            host: host, port: port, certificatePath: certificates.clientCertificate, privateKeyPath: certificates.clientKey,
            caPath: certificates.authority)
        configuration.initialBackoff = .milliseconds(1)
        configuration.maximumBackoff = .milliseconds(5)
        return configuration
    }

    /// How a ping ends: nil when it answered (or the deadline passed first), else its error's code.
    static func pingErrorCode(_ client: LedgerClient, within seconds: Int) async throws -> LedgerClientError.Code? {
        try await withDeadline(seconds: seconds) { () async -> LedgerClientError.Code? in
            do {
                _ = try await client.ping()
                return nil
            } catch {
                return (error as? LedgerClientError)?.code
            }
        } ?? nil
    }

    /// A refused TCP connect once crashed the process ("leaking promise"): the handshake promise was never completed.
    @Test func refusedAndUnresolvableTLSConnectsFailCleanlyEveryTime() async throws {
        let closedPort = try TCPListener.unusedPort()
        for host in ["127.0.0.1", "ledger-host.invalid"] {
            let client = LedgerClient(configuration: try await Self.tlsConfiguration(port: closedPort, host: host))
            for _ in 0..<10 {
                await #expect(throws: LedgerClientError.self) { try await client.ping() }
                client.logEvent(eventType: "t", entityType: "e", entityID: "1")
            }
            await client.shutdown()
        }
    }

    /// A port that accepts but never speaks TLS: the request's own timeout covers connecting.
    @Test func aRequestTimesOutWhileTheHandshakeNeverComes() async throws {
        let silent = try TCPListener()
        var configuration = try await Self.tlsConfiguration(port: silent.port)
        configuration.connectTimeout = .seconds(60)
        configuration.requestTimeout = .milliseconds(300)
        let client = LedgerClient(configuration: configuration)
        let code = try await Self.pingErrorCode(client, within: 30)
        #expect(code == .timeout, "\(String(describing: code))")
        await client.shutdown()
        silent.close()
    }

    /// Requests waiting for a connection that is still being made end when the client shuts down.
    @Test func shutdownWhileConnectingEndsEveryWaitingRequest() async throws {
        let silent = try TCPListener()
        var configuration = try await Self.tlsConfiguration(port: silent.port)
        configuration.connectTimeout = .seconds(60)
        configuration.requestTimeout = .seconds(60)
        let client = LedgerClient(configuration: configuration)
        let ended = try await withDeadline(seconds: 30) {
            try await withThrowingTaskGroup(of: LedgerClientError.Code?.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        do {
                            _ = try await client.ping()
                            return nil
                        } catch let error as LedgerClientError {
                            return error.code
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(200))
                await client.shutdown()
                var codes: [LedgerClientError.Code?] = []
                for try await code in group { codes.append(code) }
                #expect(codes.count == 5 && codes.allSatisfy { $0 == .shutdown }, "\(codes)")
            }
            return true
        }
        #expect(ended == true, "every waiting request ended")
        silent.close()
    }

    /// After shutdown nothing waits: a request fails at once.
    @Test func aRequestAfterShutdownFailsAtOnce() async throws {
        let directory = try TemporaryDirectory("paths")
        let server = try await Daemon.start(in: directory.path)
        let client = LedgerClient(socketPath: server.socketPath)
        _ = try await client.ping()
        await client.shutdown()
        let code = try await Self.pingErrorCode(client, within: 10)
        #expect(code == .shutdown)
        await server.stop()
    }
}
