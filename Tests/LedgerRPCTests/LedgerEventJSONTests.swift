import Foundation
import LedgerProtocol
import Testing

@testable import ledger_rpc

/// `--json` prints events with the field names the Python ledger's API had, so scripts written
/// against it keep working.
@Suite struct LedgerEventJSONTests {
    static let event = LedgerEvent(
        id: UUID(uuidString: "0190f5a2-7b3c-7d4e-8f90-a1b2c3d4e5f6")!, timestamp: LedgerTimestamp(iso8601: "2026-11-25T10:15:30.123456Z"),
        eventType: "clip_created", entityType: "clip", entityID: "c-1", metadata: #"{"index":1,"duration_ms":15000}"#, severity: .warn,
        workerID: "worker-7", jobID: nil, clipID: nil, peer: PeerCredentials(uid: 1000, pid: 42))

    @Test func jsonHasTheFieldNamesScriptsExpect() throws {
        let json = Self.event.jsonObject
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "id", "timestamp", "event_type", "entity_type", "entity_id", "metadata", "severity", "worker_id", "job_id", "clip_id",
                "peer_uid", "peer_pid", "tail_cursor",
            ])
        #expect(json.contains(#""metadata":{"index":1,"duration_ms":15000}"#), "the metadata is the object itself, not a string")
        #expect(object["timestamp"] as? String == "2026-11-25T10:15:30.123456Z")
        #expect(object["job_id"] is NSNull && object["peer_uid"] as? Int == 1000)
    }

    @Test func storedTextCannotDriveTheTerminal() throws {
        var event = Self.event
        event.metadata = "{\"note\":\"\u{1B}[2J\u{202E}\"}"
        let json = event.jsonObject
        #expect(!json.unicodeScalars.contains { JSONText.isUnsafeForTerminals($0) })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect((object["metadata"] as? [String: String])?["note"] == "\u{1B}[2J\u{202E}", "the same value, escaped")
    }
}
