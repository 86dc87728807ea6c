import NIOCore

/// `report_jobs` (0x14): per job type, how many jobs started, completed, failed and still run in
/// the window, how long they took, and the slowest of them.
public struct JobsReportRequest: Sendable, Hashable {
    public static let mostSlowest: UInt16 = 100

    public var window: ReportWindow
    /// Only jobs of this type (from `job_created`'s metadata `job_type`).
    public var jobType: String?
    /// How many of the slowest finished jobs to list, 0 to 100.
    public var slowest: UInt16

    public init(window: ReportWindow = ReportWindow(), jobType: String? = nil, slowest: UInt16 = 10) {
        self.window = window
        self.jobType = jobType
        self.slowest = slowest
    }

    public func validate() throws(LedgerProtocolError) {
        try self.window.validate()
        guard self.slowest <= Self.mostSlowest else { throw .invalidQuery("slowest \(self.slowest) is over \(Self.mostSlowest)") }
    }

    public func encode(into buffer: inout ByteBuffer) {
        self.window.encode(into: &buffer)
        buffer.ledgerWriteOptional(self.jobType) { $0.ledgerWriteString16($1) }
        buffer.writeInteger(self.slowest)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> JobsReportRequest {
        let window = try ReportWindow.decode(from: &buffer)
        let jobType = try buffer.ledgerReadOptional(field: "job_type") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadString16(field: "job_type")
        }
        let slowest = try buffer.ledgerReadInteger(as: UInt16.self, field: "slowest")
        try buffer.ledgerExpectEnd(of: "report_jobs")
        return JobsReportRequest(window: window, jobType: jobType, slowest: slowest)
    }
}
