import NIOCore

/// `report_failures` (0x15): how often things fail in the window, grouped one of three ways.
public struct FailuresReportRequest: Sendable, Hashable {
    public enum Grouping: UInt8, Sendable, Hashable, CaseIterable {
        /// Finished jobs (by their last finishing event in the window) per job type; failed are `job_processing_failed`.
        case jobType = 0
        /// Events per event type; failed are those of severity ERROR.
        case eventType = 1
        /// Finished jobs per the worker that logged their finishing event.
        case worker = 2

        public var name: String {
            switch self {
            case .jobType: "job_type"
            case .eventType: "event_type"
            case .worker: "worker"
            }
        }
    }

    public var window: ReportWindow
    public var grouping: Grouping

    public init(window: ReportWindow = ReportWindow(), grouping: Grouping = .jobType) {
        self.window = window
        self.grouping = grouping
    }

    public func validate() throws(LedgerProtocolError) {
        try self.window.validate()
    }

    public func encode(into buffer: inout ByteBuffer) {
        self.window.encode(into: &buffer)
        buffer.writeInteger(self.grouping.rawValue)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> FailuresReportRequest {
        let window = try ReportWindow.decode(from: &buffer)
        let raw = try buffer.ledgerReadInteger(as: UInt8.self, field: "by")
        guard let grouping = Grouping(rawValue: raw) else {
            throw .invalidQuery("by is \(raw), expected 0 (job_type), 1 (event_type) or 2 (worker)")
        }
        try buffer.ledgerExpectEnd(of: "report_failures")
        return FailuresReportRequest(window: window, grouping: grouping)
    }
}
