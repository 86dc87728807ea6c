import Foundation
import LedgerProtocol

extension LedgerEvent {
    /// The event as `--json` prints it, with the field names of the Python ledger this one replaced:
    /// id, timestamp (ISO-8601 UTC), event_type, entity_type, entity_id, metadata (the object
    /// itself), severity, worker_id, job_id, clip_id, then the peer and the tail cursor.
    var jsonObject: String {
        func string(_ value: String?) -> String {
            value.map(JSONText.quote) ?? "null"
        }
        func uuid(_ value: UUID?) -> String {
            string(value?.lowercaseText)
        }
        return "{\"id\":\(uuid(self.id)),\"timestamp\":\(string(self.timestamp?.iso8601)),"
            + "\"event_type\":\(string(self.eventType)),\"entity_type\":\(string(self.entityType)),"
            + "\"entity_id\":\(string(self.entityID)),\"metadata\":\(self.metadata.isEmpty ? "{}" : JSONText.terminalSafe(json: self.metadata)),"
            + "\"severity\":\(string(self.severity.name)),\"worker_id\":\(string(self.workerID)),"
            + "\"job_id\":\(uuid(self.jobID)),\"clip_id\":\(uuid(self.clipID)),"
            + "\"peer_uid\":\(self.peer.map { String($0.uid) } ?? "null"),\"peer_pid\":\(self.peer.map { String($0.pid) } ?? "null"),"
            + "\"tail_cursor\":\(string(self.tailCursor?.token))}"
    }
}
