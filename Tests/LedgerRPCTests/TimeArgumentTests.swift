import ArgumentParser
import Foundation
import LedgerProtocol
import Testing

@testable import ledger_rpc

/// `--since` and `--until` read times as journalctl does; anything else is one line naming the option.
@Suite struct TimeArgumentTests {
    /// 2026-12-02T10:30:00Z, a Wednesday.
    static let now = Date(timeIntervalSince1970: 1_796_207_400)
    static let utc = TimeArgument(now: now, timeZone: TimeZone(identifier: "UTC")!)
    static let berlin = TimeArgument(now: now, timeZone: TimeZone(identifier: "Europe/Berlin")!)

    static func iso(_ argument: TimeArgument, _ text: String) throws -> String {
        try argument.parse(text, option: "--since").iso8601
    }

    @Test(arguments: [
        ("90s", "2026-12-02T10:28:30.000000Z"), ("30m", "2026-12-02T10:00:00.000000Z"), ("24h", "2026-12-01T10:30:00.000000Z"),
        ("7d", "2026-11-25T10:30:00.000000Z"), ("2w", "2026-11-18T10:30:00.000000Z"), ("1h30m", "2026-12-02T09:00:00.000000Z"),
        ("-2h", "2026-12-02T08:30:00.000000Z"), ("2 days ago", "2026-11-30T10:30:00.000000Z"), ("10min", "2026-12-02T10:20:00.000000Z"),
        ("0s", "2026-12-02T10:30:00.000000Z"), ("now", "2026-12-02T10:30:00.000000Z"),
    ])
    func spansCountBackFromNow(text: String, expected: String) throws {
        #expect(try Self.iso(Self.utc, text) == expected)
    }

    @Test func namedDaysAreMidnightInTheLocalZone() throws {
        #expect(try Self.iso(Self.utc, "today") == "2026-12-02T00:00:00.000000Z")
        #expect(try Self.iso(Self.utc, "yesterday") == "2026-12-01T00:00:00.000000Z")
        #expect(try Self.iso(Self.utc, "tomorrow") == "2026-12-03T00:00:00.000000Z")
        // Midnight in Berlin (UTC+1 in December) is 23:00 UTC the day before.
        #expect(try Self.iso(Self.berlin, "today") == "2026-12-01T23:00:00.000000Z")
    }

    @Test(arguments: [
        ("2026-11-01", "2026-11-01T00:00:00.000000Z", "2026-10-31T23:00:00.000000Z"),
        ("2026-11-01 08:00", "2026-11-01T08:00:00.000000Z", "2026-11-01T07:00:00.000000Z"),
        ("2026-11-01T08:00:05", "2026-11-01T08:00:05.000000Z", "2026-11-01T07:00:05.000000Z"),
        ("2026-11-01T08:00:05.25", "2026-11-01T08:00:05.250000Z", "2026-11-01T07:00:05.250000Z"),
        ("2026-11-01T08:00:05.1234567", "2026-11-01T08:00:05.123456Z", "2026-11-01T07:00:05.123456Z"),
        ("2026-07-01 12:00", "2026-07-01T12:00:00.000000Z", "2026-07-01T10:00:00.000000Z"),
    ])
    func aTimeWithoutAZoneIsLocal(text: String, inUTC: String, inBerlin: String) throws {
        #expect(try Self.iso(Self.utc, text) == inUTC)
        #expect(try Self.iso(Self.berlin, text) == inBerlin, "summer and winter time both")
    }

    @Test(arguments: [
        ("2026-11-01T08:00:00Z", "2026-11-01T08:00:00.000000Z"), ("2026-11-01 08:00 UTC", "2026-11-01T08:00:00.000000Z"),
        ("2026-11-01T08:00+02:00", "2026-11-01T06:00:00.000000Z"), ("2026-11-01T08:00:00-0500", "2026-11-01T13:00:00.000000Z"),
        ("2026-11-01T08:00:00.5+05:30", "2026-11-01T02:30:00.500000Z"), ("2026-11-01 08:00 -03", "2026-11-01T11:00:00.000000Z"),
        ("@1796207400", "2026-12-02T10:30:00.000000Z"), ("@1796207400.5", "2026-12-02T10:30:00.500000Z"),
    ])
    func aZoneOrTheEpochIsTheSameEverywhere(text: String, expected: String) throws {
        #expect(try Self.iso(Self.utc, text) == expected)
        #expect(try Self.iso(Self.berlin, text) == expected)
    }

    @Test(arguments: [
        "", "yesterday-ish", "2h later", "7x", "h", "2026-13-01", "2026-02-30", "2026-11-01T25:00", "2026-11-01T08",
        "2026-11-01T08:00+25:00", "2026-11-01T08:00 Mars", "26-11-01", "@", "@abc", "99999999999999d", "1.5h", "2026-11-01T08:00:00.",
    ])
    func anythingElseIsOneLineNamingTheOption(text: String) {
        #expect {
            _ = try Self.utc.parse(text, option: "--until")
        } throws: { error in
            let message = "\(error)"
            return message.contains("--until \"\(text)\" is not a time") && !message.contains("\n")
        }
    }

    @Test func aTimeOutsideTheLedgersRangeIsRefused() {
        #expect(throws: ValidationError.self) { try Self.utc.parse("@999999999999", option: "--since") }
    }
}
