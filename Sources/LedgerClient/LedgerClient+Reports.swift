import LedgerProtocol

/// The seed's analyses, each answered by the store in one request.
extension LedgerClient {
    /// Per job type: started, completed, failed, running, durations, and the slowest jobs.
    public func jobsReport(_ request: JobsReportRequest = JobsReportRequest()) async throws -> JobsReport {
        guard case .jobsReport(let report) = try await self.connection.request(.reportJobs(request)) else {
            throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered report_jobs with something else")
        }
        return report
    }

    /// Failure counts and rates per job type, event type or worker.
    public func failuresReport(_ request: FailuresReportRequest = FailuresReportRequest()) async throws -> FailuresReport {
        guard case .failuresReport(let report) = try await self.connection.request(.reportFailures(request)) else {
            throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered report_failures with something else")
        }
        return report
    }

    /// WARN and ERROR counts per time bucket; `ErrorsReport.series` marks the spikes.
    public func errorsReport(_ request: ErrorsReportRequest) async throws -> ErrorsReport {
        guard case .errorsReport(let report) = try await self.connection.request(.reportErrors(request)) else {
            throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered report_errors with something else")
        }
        return report
    }

    /// One page of an entity's whole story, its linked jobs and clips included; page on with `result.next`.
    public func timeline(_ request: TimelineRequest) async throws -> EventsResult {
        guard case .events(let result) = try await self.connection.request(.timeline(request)) else {
            throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered a timeline with something else")
        }
        return result
    }
}
