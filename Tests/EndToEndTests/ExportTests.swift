import Foundation
import LedgerTestSupport
import Testing

/// `ledger-rpc export` against the real daemon: every event once, in order, in each format, and
/// resumable across a restart from the cursor it prints.
@Suite struct ExportTests {
    static func ids(_ ndjson: String) -> [String] {
        ndjson.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
        }
    }

    static func resumeCursor(_ stderr: String) -> String? {
        guard let range = stderr.range(of: "last: --after ") else { return nil }
        return String(stderr[range.upperBound...].prefix(while: { $0.isHexDigit }))
    }

    @Test func resumesAcrossARestartWithNothingSkippedOrRepeated() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var daemon = try await Daemon.start(in: directory)
        let loaded = try await runTool(
            "ledger-bench", ["--socket", daemon.socketPath, "--connections", "2", "--events", "2345", "--ack", "--batch", "50", "--window", "4", "--json"])
        #expect(loaded.status == 0, "\(loaded.stderr)")

        let whole = try await runTool("ledger-rpc", ["export", "--socket", daemon.socketPath])
        #expect(whole.status == 0, "\(whole.stderr)")
        let all = Self.ids(whole.stdout)
        #expect(all.count == 2345 && Set(all).count == 2345, "more than two pages, each event once")
        #expect(whole.stderr.contains("exported 2345 events; last: --after "), "\(whole.stderr)")

        let first = try await runTool("ledger-rpc", ["export", "--max-events", "1234", "--socket", daemon.socketPath])
        #expect(first.status == 0, "\(first.stderr)")
        let cursor = try #require(Self.resumeCursor(first.stderr), "\(first.stderr)")
        await daemon.stop()
        daemon = try await Daemon.start(in: directory)
        let later = try await runTool("ledger-rpc", ["log", "job_created", "job", "after-restart", "--socket", daemon.socketPath])
        #expect(later.status == 0, "\(later.stderr)")
        let rest = try await runTool("ledger-rpc", ["export", "--after", cursor, "--socket", daemon.socketPath])
        #expect(rest.status == 0, "\(rest.stderr)")
        let resumed = Self.ids(first.stdout) + Self.ids(rest.stdout)
        #expect(Array(resumed.prefix(2345)) == all, "the two parts are the whole export, in its order")
        #expect(resumed.count == 2346 && rest.stdout.contains("\"entity_id\":\"after-restart\""), "and what came since")

        // A daemon that is gone: one line with the cursor to resume from, exit 1.
        await daemon.stop()
        let stopped = try await runTool("ledger-rpc", ["export", "--after", cursor, "--socket", daemon.socketPath])
        #expect(stopped.status == 1)
        #expect(stopped.stderr.contains("export stopped after 0 events") && stopped.stderr.contains("last: --after \(cursor)"), "\(stopped.stderr)")
    }

    @Test func writesEachFormatWhole() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try await Daemon.start(in: directory)
        let socket = ["--socket", daemon.socketPath]
        let awkward = #"{"note":"a, \"quoted\"\nline"}"#
        for (index, entity) in ["plain", "with,comma", "with\"quote"].enumerated() {
            let logged = try await runTool(
                "ledger-rpc", ["log", index == 0 ? "job_created" : "clip_created", "clip", entity, "--metadata", awkward] + socket)
            #expect(logged.status == 0, "\(logged.stderr)")
        }

        let json = try await runTool("ledger-rpc", ["export", "--format", "json"] + socket)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]], "\(json.stdout)")
        #expect(array.map { $0["entity_id"] as? String } == ["plain", "with,comma", "with\"quote"])
        #expect((array[0]["metadata"] as? [String: String])?["note"] == "a, \"quoted\"\nline")

        let csv = try await runTool("ledger-rpc", ["export", "--format", "csv"] + socket)
        let rows = Self.csvRows(csv.stdout)
        #expect(rows.count == 4, "a header and three rows: \(csv.stdout)")
        #expect(rows.first?.first == "id" && rows.allSatisfy { $0.count == rows[0].count })
        let entity = try #require(rows.first?.firstIndex(of: "entity_id"))
        let metadata = try #require(rows.first?.firstIndex(of: "metadata"))
        #expect(rows.dropFirst().map { $0[entity] } == ["plain", "with,comma", "with\"quote"])
        let note = try JSONSerialization.jsonObject(with: Data(rows[1][metadata].utf8)) as? [String: String]
        #expect(note?["note"] == "a, \"quoted\"\nline", "metadata is its JSON text, unchanged by the quoting")

        let narrowed = try await runTool("ledger-rpc", ["export", "--type", "clip_created"] + socket)
        #expect(Self.ids(narrowed.stdout).count == 2, "the filters narrow an export as they do a list")
        let empty = try await runTool("ledger-rpc", ["export", "--format", "json", "--type", "none"] + socket)
        #expect((try JSONSerialization.jsonObject(with: Data(empty.stdout.utf8)) as? [Any])?.isEmpty == true, "\(empty.stdout)")
        let bad = try await runTool("ledger-rpc", ["export", "--format", "xml"] + socket)
        #expect(bad.status == 2 && bad.stderr.contains("--format \"xml\""), "\(bad.stderr)")
        await daemon.stop()
    }

    /// RFC 4180 read back: quoted fields may hold commas, doubled quotes and line breaks.
    static func csvRows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            if quoted {
                if character == "\"" {
                    if characters.first == "\"" {
                        field.append("\"")
                        characters.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                row.append(field)
                field = ""
            } else if character == "\r\n" || character == "\n" {
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            } else {
                field.append(character)
            }
        }
        return rows
    }
}
