import Atomics
import LedgerProtocol
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// `GET /metrics` over HTTP/1.1, one request per connection: the scrape Prometheus makes.
///
/// Nothing a peer sends is kept (a body is read and dropped), each connection is closed after its
/// answer or at its deadline, whichever comes first, and other paths and methods get 404 and 405.
enum MetricsEndpoint {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// A scrape that takes longer than this is a stuck peer, not a slow daemon.
    static let deadline = TimeAmount.seconds(10)

    static func initializer() -> @Sendable (any Channel) -> EventLoopFuture<Connection> {
        { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                return try Connection(wrappingChannelSynchronously: channel)
            }
        }
    }

    struct Error: Swift.Error, CustomStringConvertible {
        var description: String
    }

    /// Accepts until graceful shutdown, serving at most `maximumConnections` scrapes at a time.
    static func serveScrapes(
        on listener: NIOAsyncChannel<Connection, Never>, maximumConnections: Int, render: @escaping @Sendable () -> [UInt8], logger: Logger
    ) async throws {
        let listening = listener.channel
        try await withThrowingDiscardingTaskGroup { group in
            try await listener.executeThenClose { connections in
                try await withGracefulShutdownHandler {
                    let serving = ManagedAtomic(0)
                    for try await connection in connections {
                        // A scraper past the limit is closed at once; it tries again at its next interval.
                        guard serving.loadThenWrappingIncrement(ordering: .relaxed) < maximumConnections else {
                            serving.wrappingDecrement(ordering: .relaxed)
                            connection.channel.close(promise: nil)
                            continue
                        }
                        group.addTask {
                            defer { serving.wrappingDecrement(ordering: .relaxed) }
                            await Self.serve(connection, render: render, logger: logger)
                        }
                    }
                } onGracefulShutdown: {
                    listening.close(promise: nil)
                }
            }
        }
    }

    static func serve(_ connection: Connection, render: @Sendable () -> [UInt8], logger: Logger) async {
        let channel = connection.channel
        let deadline = channel.eventLoop.scheduleTask(in: Self.deadline) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var request: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let head): request = head
                    case .body: continue
                    case .end:
                        guard let head = request else { return }
                        let (status, body, extra) = Self.answer(head, render: render)
                        var headers = HTTPHeaders(extra)
                        headers.add(name: "Content-Length", value: "\(body.count)")
                        headers.add(name: "Connection", value: "close")
                        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: status, headers: headers)))
                        if head.method != .HEAD { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                        try await outbound.write(.end(nil))
                        return
                    }
                }
            }
        } catch {
            logger.debug("metrics connection ended", metadata: ["error": "\(error)"])
        }
    }

    private static func answer(_ head: HTTPRequestHead, render: () -> [UInt8]) -> (HTTPResponseStatus, [UInt8], [(String, String)]) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
        guard path == "/metrics" else {
            return (.notFound, Array("ledgerd serves /metrics only\n".utf8), [("Content-Type", "text/plain; charset=utf-8")])
        }
        guard head.method == .GET || head.method == .HEAD else {
            return (.methodNotAllowed, Array("GET /metrics\n".utf8), [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")])
        }
        return (.ok, render(), [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")])
    }
}
