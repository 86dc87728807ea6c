import NIOCore

/// Every message a client sends, one case per wire type.
public enum LedgerRequest: Sendable, Hashable {
    case ping
    case logEvent(LogEvent)
    case logJobEvent(LogJobEvent)
    case logClipEvent(LogClipEvent)
    case logBatch(LogBatch)
    /// Answered with an ack once everything this connection sent before it is committed.
    case sync
    /// Events the client dropped since it last reached the daemon; answered with an ack once stored.
    case reportGap(ReportGap)
    case query(QueryRequest)
    case count(CountRequest)
    case stats
    case subscribe(SubscribeRequest)
    case reportJobs(JobsReportRequest)
    case reportFailures(FailuresReportRequest)
    case reportErrors(ErrorsReportRequest)
    case timeline(TimelineRequest)
    /// The retention policy and what it removes; answered with `retention_status`.
    case retention
    /// Asks for the daemon's newest signed tree head.
    case treeHead
    case prove(ProveRequest)
    /// One page of the store's logs, for verifying through the daemon.
    case treeRead(TreeReadRequest)

    /// Whether the request changes the ledger (and so needs write access).
    public var isWrite: Bool {
        switch self {
        case .logEvent, .logJobEvent, .logClipEvent, .logBatch, .reportGap: true
        case .ping, .sync, .query, .count, .stats, .subscribe, .reportJobs, .reportFailures, .reportErrors, .timeline, .retention, .treeHead, .prove, .treeRead:
            false
        }
    }

    /// The type byte of each request.
    public struct ID: RawRepresentable, Hashable, Sendable {
        public var rawValue: UInt8

        public init(rawValue: UInt8) {
            self.rawValue = rawValue
        }

        public static let ping = ID(rawValue: 0x01)
        public static let logEvent = ID(rawValue: 0x02)
        public static let logJobEvent = ID(rawValue: 0x03)
        public static let logClipEvent = ID(rawValue: 0x04)
        public static let logBatch = ID(rawValue: 0x05)
        public static let sync = ID(rawValue: 0x06)
        public static let reportGap = ID(rawValue: 0x07)
        public static let query = ID(rawValue: 0x10)
        public static let count = ID(rawValue: 0x11)
        public static let stats = ID(rawValue: 0x12)
        public static let subscribe = ID(rawValue: 0x13)
        public static let reportJobs = ID(rawValue: 0x14)
        public static let reportFailures = ID(rawValue: 0x15)
        public static let reportErrors = ID(rawValue: 0x16)
        public static let timeline = ID(rawValue: 0x17)
        public static let retention = ID(rawValue: 0x18)
        public static let treeHead = ID(rawValue: 0x19)
        public static let prove = ID(rawValue: 0x1A)
        public static let treeRead = ID(rawValue: 0x1B)
    }

    public var id: ID {
        switch self {
        case .ping: .ping
        case .logEvent: .logEvent
        case .logJobEvent: .logJobEvent
        case .logClipEvent: .logClipEvent
        case .logBatch: .logBatch
        case .sync: .sync
        case .reportGap: .reportGap
        case .query: .query
        case .count: .count
        case .stats: .stats
        case .subscribe: .subscribe
        case .reportJobs: .reportJobs
        case .reportFailures: .reportFailures
        case .reportErrors: .reportErrors
        case .timeline: .timeline
        case .retention: .retention
        case .treeHead: .treeHead
        case .prove: .prove
        case .treeRead: .treeRead
        }
    }

    public func encodePayload(into buffer: inout ByteBuffer) {
        switch self {
        case .ping, .sync, .stats, .retention, .treeHead: break
        case .logEvent(let message): message.encode(into: &buffer)
        case .logJobEvent(let message): message.encode(into: &buffer)
        case .logClipEvent(let message): message.encode(into: &buffer)
        case .logBatch(let message): message.encode(into: &buffer)
        case .reportGap(let message): message.encode(into: &buffer)
        case .query(let message): message.encode(into: &buffer)
        case .count(let message): message.encode(into: &buffer)
        case .subscribe(let message): message.encode(into: &buffer)
        case .reportJobs(let message): message.encode(into: &buffer)
        case .reportFailures(let message): message.encode(into: &buffer)
        case .reportErrors(let message): message.encode(into: &buffer)
        case .timeline(let message): message.encode(into: &buffer)
        case .prove(let message): message.encode(into: &buffer)
        case .treeRead(let message): message.encode(into: &buffer)
        }
    }

    /// Writes the complete frame, length prefix included, straight into `buffer`.
    public func encode(requestID: UInt32, into buffer: inout ByteBuffer) {
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(LedgerFrame.currentVersion)
        buffer.writeInteger(self.id.rawValue)
        buffer.writeInteger(requestID)
        self.encodePayload(into: &buffer)
        buffer.setInteger(UInt32(buffer.writerIndex - lengthIndex - 4), at: lengthIndex)
    }

    public func frame(requestID: UInt32, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> LedgerFrame {
        var payload = allocator.buffer(capacity: 64)
        self.encodePayload(into: &payload)
        return LedgerFrame(type: self.id.rawValue, requestID: requestID, payload: payload)
    }

    /// Interprets a frame's payload; unknown types fail for that request only.
    public static func decode(_ frame: LedgerFrame) throws(LedgerProtocolError) -> LedgerRequest {
        var payload = frame.payload
        func empty(_ name: String) throws(LedgerProtocolError) {
            try payload.ledgerExpectEnd(of: name)
        }
        switch ID(rawValue: frame.type) {
        case .ping:
            try empty("ping")
            return .ping
        case .logEvent: return .logEvent(try LogEvent.decode(from: &payload))
        case .logJobEvent: return .logJobEvent(try LogJobEvent.decode(from: &payload))
        case .logClipEvent: return .logClipEvent(try LogClipEvent.decode(from: &payload))
        case .logBatch: return .logBatch(try LogBatch.decode(from: &payload))
        case .sync:
            try empty("sync")
            return .sync
        case .reportGap: return .reportGap(try ReportGap.decode(from: &payload))
        case .query: return .query(try QueryRequest.decode(from: &payload))
        case .count: return .count(try CountRequest.decode(from: &payload))
        case .subscribe: return .subscribe(try SubscribeRequest.decode(from: &payload))
        case .reportJobs: return .reportJobs(try JobsReportRequest.decode(from: &payload))
        case .reportFailures: return .reportFailures(try FailuresReportRequest.decode(from: &payload))
        case .reportErrors: return .reportErrors(try ErrorsReportRequest.decode(from: &payload))
        case .timeline: return .timeline(try TimelineRequest.decode(from: &payload))
        case .stats:
            try empty("stats")
            return .stats
        case .retention:
            try empty("retention")
            return .retention
        case .treeHead:
            try empty("tree_head")
            return .treeHead
        case .prove: return .prove(try ProveRequest.decode(from: &payload))
        case .treeRead: return .treeRead(try TreeReadRequest.decode(from: &payload))
        default:
            throw LedgerProtocolError(
                code: .unknownMessageType,
                message: "message type 0x\(String(frame.type, radix: 16)) is not a request this daemon knows"
            )
        }
    }
}
