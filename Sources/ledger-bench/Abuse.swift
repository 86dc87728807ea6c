import ArgumentParser
import Foundation
import LedgerFiles
import LedgerProtocol
import NIOCore

struct Abuse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hostile and careless clients at once, for the other clients of the same daemon to survive.",
        discussion: """
            For --duration seconds, on raw sockets that no client library tidies up: connections \
            that write 2,000 pings and close without reading (wedging closers); connections that \
            pipeline 1,100 queries for pages of large events and never read (hoarders); tails that \
            subscribe and never read; events the daemon must refuse (a timestamp of Int64.min, \
            numbers PostgreSQL cannot keep, a C1 control in an identifier); and, with --tls-port, \
            TCP peers that send half a ClientHello and wait. It first stores --large-events events \
            of 60 KB each, so that every page the hoarders ask for is large. Meanwhile the \
            well-behaved clients are someone else's: run `ledger-bench soak --ack` beside it.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The daemon's Unix socket.", valueName: "path"))
    var socket: String

    @Option(name: .long, help: ArgumentHelp("How long to keep at it.", valueName: "seconds"))
    var duration = 60.0

    @Option(name: .long, help: "Connections that pipeline queries and never read, held for the whole run.")
    var hoarders = 8

    @Option(name: .long, help: "Tails that never read, held for the whole run.")
    var stuckTails = 8

    @Option(name: .long, help: "Half-open TLS handshakes held at once, with --tls-port.")
    var halfOpen = 200

    @Option(name: .long, help: ArgumentHelp("The daemon's TLS port on 127.0.0.1, for the half-open handshakes.", valueName: "port"))
    var tlsPort: Int?

    @Option(name: .long, help: "Events of 60 KB stored first, for the hoarders' pages.")
    var largeEvents = 1_000

    func run() async throws {
        let deadline = Date().addingTimeInterval(self.duration)
        try Self.storeLargeEvents(self.largeEvents, socket: self.socket)
        var held: [Int32] = []
        let queries = Self.frames(count: 1_100) { .query(QueryRequest(limit: 1_000)) }
        for _ in 0..<self.hoarders {
            if let descriptor = RawPeer.unix(self.socket) {
                RawPeer.send(descriptor, queries)
                held.append(descriptor)
            }
        }
        let subscribe = Self.frames(count: 1) { .subscribe(SubscribeRequest()) }
        for _ in 0..<self.stuckTails {
            if let descriptor = RawPeer.unix(self.socket) {
                // A small receive buffer, so the daemon's side fills soon.
                var size: Int32 = 4_096
                setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                RawPeer.send(descriptor, subscribe)
                held.append(descriptor)
            }
        }
        if let port = self.tlsPort {
            let halfHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]
            for _ in 0..<self.halfOpen {
                if let descriptor = RawPeer.tcp(port: port) {
                    RawPeer.send(descriptor, halfHello)
                    held.append(descriptor)
                }
            }
        }
        let pings = Self.frames(count: 2_000) { .ping }
        let poison = Self.poison()
        var closers = 0
        var refused = 0
        while Date() < deadline {
            if let descriptor = RawPeer.unix(self.socket) {
                RawPeer.send(descriptor, pings)
                close(descriptor)
                closers += 1
            }
            if let descriptor = RawPeer.unix(self.socket) {
                RawPeer.send(descriptor, poison)
                close(descriptor)
                refused += 3
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        for descriptor in held { close(descriptor) }
        print(
            "{\"wedging_closers\":\(closers),\"poison_events\":\(refused),\"hoarders\":\(self.hoarders),\"stuck_tails\":\(self.stuckTails),"
                + "\"half_open_handshakes\":\(self.tlsPort == nil ? 0 : self.halfOpen)}")
    }

    static func frames(count: Int, _ request: () -> LedgerRequest) -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: count * 32)
        for index in 0..<count { request().encode(requestID: UInt32(index + 1), into: &buffer) }
        return Array(buffer.readableBytesView)
    }

    /// Events the daemon must refuse, each for one of the reasons a store would fail them.
    static func poison() -> [UInt8] {
        let events = [
            LedgerEvent(id: UUID(), timestamp: LedgerTimestamp(rawValue: Int64.min), eventType: "job_created", entityType: "job", entityID: "p"),
            LedgerEvent(id: UUID(), eventType: "job_created", entityType: "job", entityID: "p", metadata: #"{"n":1e999999}"#),
            LedgerEvent(id: UUID(), eventType: "job_created", entityType: "job", entityID: "p\u{9B}31m"),
        ]
        var buffer = ByteBufferAllocator().buffer(capacity: 1_024)
        for (index, event) in events.enumerated() {
            LedgerRequest.logEvent(LogEvent(event: event, acknowledged: false)).encode(requestID: UInt32(index + 1), into: &buffer)
        }
        return Array(buffer.readableBytesView)
    }

    static func storeLargeEvents(_ count: Int, socket: String) throws {
        guard count > 0, let descriptor = RawPeer.unix(socket) else { return }
        defer { close(descriptor) }
        let metadata = "{\"blob\":\"" + String(repeating: "x", count: 60_000) + "\"}"
        var sent = 0
        var requestID: UInt32 = 0
        while sent < count {
            let events = (0..<min(10, count - sent)).map { _ in
                LedgerEvent(id: UUID(), eventType: "clip_created", entityType: "clip", entityID: "large", metadata: metadata)
            }
            requestID += 1
            var buffer = ByteBufferAllocator().buffer(capacity: 700_000)
            LedgerRequest.logBatch(LogBatch(events: events, acknowledged: true)).encode(requestID: requestID, into: &buffer)
            RawPeer.send(descriptor, Array(buffer.readableBytesView))
            RawPeer.readFrame(descriptor)
            sent += events.count
        }
    }
}

/// Blocking POSIX sockets, as a hostile peer would use them.
enum RawPeer {
    static func unix(_ path: String) -> Int32? {
        BlockingConnect.unix(path)
    }

    static func tcp(port: Int) -> Int32? {
        BlockingConnect.loopback(port: port)
    }

    /// Writes what the socket takes without waiting; a peer that is not read from takes less.
    static func send(_ descriptor: Int32, _ bytes: [UInt8]) {
        var offset = 0
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Reads one whole frame, to wait for an answer.
    static func readFrame(_ descriptor: Int32) {
        var header = [UInt8](repeating: 0, count: 4)
        guard recv(descriptor, &header, 4, Int32(MSG_WAITALL)) == 4 else { return }
        var remaining = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while remaining > 0 {
            let count = recv(descriptor, &chunk, min(chunk.count, remaining), 0)
            if count <= 0 { return }
            remaining -= count
        }
    }
}
