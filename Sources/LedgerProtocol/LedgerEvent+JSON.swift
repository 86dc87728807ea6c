import Foundation

extension LedgerEvent {
    /// The event as the seed's API returned it: id, timestamp (ISO-8601 UTC), event_type,
    /// entity_type, entity_id, metadata (the object itself), severity, worker_id, job_id, clip_id.
    public var jsonObject: String {
        func string(_ value: String?) -> String {
            value.map(JSONText.quote) ?? "null"
        }
        func uuid(_ value: UUID?) -> String {
            string(value?.lowercaseText)
        }
        return "{\"id\":\(uuid(self.id)),\"timestamp\":\(string(self.timestamp?.iso8601)),"
            + "\"event_type\":\(string(self.eventType)),\"entity_type\":\(string(self.entityType)),"
            + "\"entity_id\":\(string(self.entityID)),\"metadata\":\(self.metadata.isEmpty ? "{}" : self.metadata),"
            + "\"severity\":\(string(self.severity.name)),\"worker_id\":\(string(self.workerID)),"
            + "\"job_id\":\(uuid(self.jobID)),\"clip_id\":\(uuid(self.clipID)),"
            + "\"peer_uid\":\(self.peer.map { String($0.uid) } ?? "null"),\"peer_pid\":\(self.peer.map { String($0.pid) } ?? "null"),"
            + "\"tail_cursor\":\(string(self.tailCursor?.token))}"
    }
}

/// JSON string quoting, shared by everything that prints JSON by hand.
public enum JSONText {
    public static func quote(_ text: String) -> String {
        var result = "\""
        result.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
