import LedgerProtocol
import Testing

/// The series a client reads spikes from: empty buckets count zero, ERROR comes first, and a spike
/// needs both three events and two standard deviations.
@Suite struct ErrorsReportTests {
    @Test func seriesFillEmptyBucketsAndMarkOnlyRealSpikes() {
        let report = ErrorsReport(
            since: LedgerTimestamp(rawValue: 0), bucketSeconds: 60, bucketCount: 10,
            rows: [
                .init(bucket: 2, eventType: "upload_slow", severity: .warn, count: 1),
                .init(bucket: 7, eventType: "job_processing_failed", severity: .error, count: 9),
                .init(bucket: 1, eventType: "clip_failed", severity: .error, count: 1),
            ])
        let series = report.series
        #expect(series.map(\.eventType) == ["clip_failed", "job_processing_failed", "upload_slow"], "ERROR first, then by type")
        let failed = series[1]
        #expect(failed.counts == [0, 0, 0, 0, 0, 0, 0, 9, 0, 0])
        #expect(failed.mean == 0.9 && failed.isSpike(7) && !failed.isSpike(6))
        #expect(abs(failed.deviation(7) - 3.0) < 1e-9, "(9 - 0.9) / 2.7")
        #expect(abs(series[0].deviation(1) - 3.0) < 1e-9 && !series[0].isSpike(1), "one event is never a spike, however quiet the rest")
        #expect(report.bucketStart(7).rawValue == 420_000_000)
    }
}
