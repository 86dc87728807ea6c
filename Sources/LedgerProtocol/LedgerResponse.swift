import NIOCore

/// Every message the daemon sends, one case per wire type.
public enum LedgerResponse: Sendable, Hashable {
    case pong(Pong)
    case ack(Ack)
    case events(EventsResult)
    case count(CountResult)
    case stats(StatsResult)
    case tail(TailBatch)
    case jobsReport(JobsReport)
    case failuresReport(FailuresReport)
    case errorsReport(ErrorsReport)
    case retentionStatus(RetentionStatus)
    case treeHead(TreeHeadResult)
    case inclusionProof(InclusionProof)
    case treePage(TreeReadResult)
    case error(ErrorResponse)

    /// The type byte of each response; responses have the high bit set so a stream
    /// read in the wrong direction fails at once.
    public struct ID: RawRepresentable, Hashable, Sendable {
        public var rawValue: UInt8

        public init(rawValue: UInt8) {
            self.rawValue = rawValue
        }

        public static let pong = ID(rawValue: 0x81)
        public static let ack = ID(rawValue: 0x82)
        public static let events = ID(rawValue: 0x90)
        public static let count = ID(rawValue: 0x91)
        public static let stats = ID(rawValue: 0x92)
        public static let tail = ID(rawValue: 0x93)
        public static let jobsReport = ID(rawValue: 0x94)
        public static let failuresReport = ID(rawValue: 0x95)
        public static let errorsReport = ID(rawValue: 0x96)
        public static let retentionStatus = ID(rawValue: 0x97)
        public static let treeHead = ID(rawValue: 0x98)
        public static let inclusionProof = ID(rawValue: 0x99)
        public static let treePage = ID(rawValue: 0x9A)
        public static let error = ID(rawValue: 0xFF)
    }

    public var id: ID {
        switch self {
        case .pong: .pong
        case .ack: .ack
        case .events: .events
        case .count: .count
        case .stats: .stats
        case .tail: .tail
        case .jobsReport: .jobsReport
        case .failuresReport: .failuresReport
        case .errorsReport: .errorsReport
        case .retentionStatus: .retentionStatus
        case .treeHead: .treeHead
        case .inclusionProof: .inclusionProof
        case .treePage: .treePage
        case .error: .error
        }
    }

    public func encodePayload(into buffer: inout ByteBuffer) {
        switch self {
        case .pong(let message): message.encode(into: &buffer)
        case .ack(let message): message.encode(into: &buffer)
        case .events(let message): message.encode(into: &buffer)
        case .count(let message): message.encode(into: &buffer)
        case .stats(let message): message.encode(into: &buffer)
        case .tail(let message): message.encode(into: &buffer)
        case .jobsReport(let message): message.encode(into: &buffer)
        case .failuresReport(let message): message.encode(into: &buffer)
        case .errorsReport(let message): message.encode(into: &buffer)
        case .retentionStatus(let message): message.encode(into: &buffer)
        case .treeHead(let message): message.encode(into: &buffer)
        case .inclusionProof(let message): message.encode(into: &buffer)
        case .treePage(let message): message.encode(into: &buffer)
        case .error(let message): message.encode(into: &buffer)
        }
    }

    public func frame(requestID: UInt32, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> LedgerFrame {
        var payload = allocator.buffer(capacity: 32)
        self.encodePayload(into: &payload)
        return LedgerFrame(type: self.id.rawValue, requestID: requestID, payload: payload)
    }

    public static func decode(_ frame: LedgerFrame) throws(LedgerProtocolError) -> LedgerResponse {
        var payload = frame.payload
        switch ID(rawValue: frame.type) {
        case .pong: return .pong(try Pong.decode(from: &payload))
        case .ack: return .ack(try Ack.decode(from: &payload))
        case .events: return .events(try EventsResult.decode(from: &payload))
        case .count: return .count(try CountResult.decode(from: &payload))
        case .stats: return .stats(try StatsResult.decode(from: &payload))
        case .tail: return .tail(try TailBatch.decode(from: &payload))
        case .jobsReport: return .jobsReport(try JobsReport.decode(from: &payload))
        case .failuresReport: return .failuresReport(try FailuresReport.decode(from: &payload))
        case .errorsReport: return .errorsReport(try ErrorsReport.decode(from: &payload))
        case .retentionStatus: return .retentionStatus(try RetentionStatus.decode(from: &payload))
        case .treeHead: return .treeHead(try TreeHeadResult.decode(from: &payload))
        case .inclusionProof: return .inclusionProof(try InclusionProof.decode(from: &payload))
        case .treePage: return .treePage(try TreeReadResult.decode(from: &payload))
        case .error: return .error(try ErrorResponse.decode(from: &payload))
        default:
            throw LedgerProtocolError(
                code: .unknownMessageType,
                message: "message type 0x\(String(frame.type, radix: 16)) is not a response this client knows",
                closesConnection: true
            )
        }
    }
}
