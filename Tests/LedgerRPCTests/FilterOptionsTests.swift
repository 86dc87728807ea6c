import ArgumentParser
import Foundation
import LedgerProtocol
import Testing

@testable import ledger_rpc

/// Every listing's filter flags become the protocol's filter, field for field, and a wrong one is
/// a usage error naming the flag.
@Suite struct FilterOptionsTests {
    static let job = "0190f5a2-7b3c-7d4e-8f90-a1b2c3d4e5f6"
    static let clip = "0190f5a2-7b3c-7d4e-8f90-a1b2c3d4e5f7"

    @Test func eachFlagSetsItsField() throws {
        let options = try FilterOptions.parse([
            "--type", "job_processing_failed", "--entity", "video_asset", "v-1", "--job", Self.job, "--clip", Self.clip,
            "--severity", "warn", "--worker", "w-3", "--since", "2026-11-01 00:00 UTC", "--until", "2026-11-02T08:00:00Z",
        ])
        let filter = try options.filter()
        #expect(filter.eventType == "job_processing_failed")
        #expect(filter.entityType == "video_asset" && filter.entityID == "v-1")
        #expect(filter.jobID == UUID(uuidString: Self.job) && filter.clipID == UUID(uuidString: Self.clip))
        #expect(filter.severities == .warn && filter.workerID == "w-3")
        #expect(filter.since?.iso8601.hasPrefix("2026-11-01T00:00:00") == true)
        #expect(filter.until?.iso8601.hasPrefix("2026-11-02T08:00:00") == true)
        #expect(try FilterOptions.parse([]).filter() == EventFilter(), "no flag, no filter")
    }

    @Test(arguments: [
        (["--job", "nope"], "--job"), (["--clip", "nope"], "--clip"), (["--severity", "LOUD"], "--severity"),
        (["--since", "yesterday-ish"], "--since"), (["--entity", "clip"], "--entity"),
        (["--since", "2026-11-02", "--until", "2026-11-01"], "--until"),
        (["--severity", "WARN,"], "--severity"), (["--min-severity", "high"], "--min-severity"),
        (["--severity", "INFO", "--min-severity", "WARN"], "--min-severity"),
    ])
    func aBadValueIsAUsageErrorNamingItsFlag(arguments: [String], flag: String) {
        #expect {
            _ = try FilterOptions.parse(arguments)
        } throws: { error in
            FilterOptions.message(for: error).contains(flag)
        }
    }

    @Test(arguments: [
        (["--severity", "ERROR"], SeveritySet.error), (["--severity", "warn,ERROR"], [.warn, .error]),
        (["--severity", "INFO", "--severity", "error"], [.info, .error]), (["--min-severity", "WARN"], [.warn, .error]),
        (["--min-severity", "info"], SeveritySet.all), (["--severity", "INFO,WARN", "--min-severity", "WARN"], .warn),
    ] as [([String], SeveritySet)])
    func severitiesCombineNamesAndAFloor(arguments: [String], expected: SeveritySet) throws {
        #expect(try FilterOptions.parse(arguments).filter().severities == expected)
    }

    @Test func aListingsOwnArgumentAndAFlagMustAgree() throws {
        let options = try FilterOptions.parse(["--type", "clip_created", "--worker", "w-1"])
        let narrowed = try options.filter(with: EventFilter(entityType: "clip", entityID: "c-1"), named: "the entity")
        #expect(narrowed.eventType == "clip_created" && narrowed.workerID == "w-1" && narrowed.entityID == "c-1")
        #expect(try options.filter(with: EventFilter(eventType: "clip_created"), named: "the type").eventType == "clip_created", "the same value twice is fine")
        #expect {
            try options.filter(with: EventFilter(eventType: "job_created"), named: "the type")
        } throws: { error in
            "\(error)".contains("--type and the type name different events")
        }
        let severity = try FilterOptions.parse(["--severity", "INFO"])
        #expect(throws: (any Error).self) { try severity.filter(with: EventFilter(severity: .error), named: "errors") }
    }
}
