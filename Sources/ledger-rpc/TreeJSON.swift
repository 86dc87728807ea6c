import Foundation
import LedgerProtocol
import LedgerTree

/// Signed tree heads and inclusion proofs as JSON (docs/VERIFY.md, "JSON"): what `head --json` and
/// `prove` print, and what `verify --head` and `verify-proof` read back.
enum TreeJSON {
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    static func head(_ head: SignedTreeHead) -> String {
        "{\"log_id\":\"\(HexText.text(head.logID))\",\"tree_size\":\(head.treeSize),\"root_hash\":\"\(HexText.text(head.rootHash))\","
            + "\"timestamp\":\"\(head.timestamp.iso8601)\",\"timestamp_us\":\(head.timestamp.rawValue),\"signature\":\"\(HexText.text(head.signature))\"}"
    }

    static func proof(_ proof: InclusionProof) -> String {
        "{\"event_id\":\"\(proof.eventID.lowercaseText)\",\"sequence\":\(proof.sequence),\"leaf_index\":\(proof.leafIndex),"
            + "\"tree_size\":\(proof.head.treeSize),\"leaf_hash\":\"\(HexText.text(proof.leafHash))\","
            + "\"inclusion_path\":[\(proof.path.map { "\"\(HexText.text($0))\"" }.joined(separator: ","))],\"tree_head\":\(Self.head(proof.head))}"
    }

    /// Reads a head from `file` ("-" for standard input), the object `head --json` prints.
    static func readHead(_ file: String) throws -> SignedTreeHead {
        try Self.head(from: try Self.object(file), in: file)
    }

    static func readProof(_ file: String) throws -> InclusionProof {
        let object = try Self.object(file)
        guard let headObject = object["tree_head"] as? [String: Any] else { throw Problem(description: "\(file): no tree_head object") }
        let head = try Self.head(from: headObject, in: file)
        guard let id = (object["event_id"] as? String).flatMap(UUID.init(uuidString:)) else { throw Problem(description: "\(file): event_id is not a UUID") }
        let path = (object["inclusion_path"] as? [String])?.compactMap { HexText.bytes($0) }
        guard let path, path.count == (object["inclusion_path"] as? [String])?.count, path.allSatisfy({ $0.count == 32 }) else {
            throw Problem(description: "\(file): inclusion_path is not a list of 32-byte hex hashes")
        }
        return InclusionProof(
            head: head, eventID: id, sequence: try Self.integer(object, "sequence", file), leafIndex: UInt64(try Self.integer(object, "leaf_index", file)),
            leafHash: try Self.bytes(object, "leaf_hash", 32, file), path: path)
    }

    private static func object(_ file: String) throws -> [String: Any] {
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw Problem(description: "\(file): cannot be read: \(String(cString: strerror(errno)))")
            }
            data = contents
        }
        guard data.count <= 1 << 20, let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw Problem(description: "\(file): not a JSON object")
        }
        return object
    }

    private static func head(from object: [String: Any], in file: String) throws -> SignedTreeHead {
        SignedTreeHead(
            logID: try Self.bytes(object, "log_id", 32, file), treeSize: UInt64(try Self.integer(object, "tree_size", file)),
            rootHash: try Self.bytes(object, "root_hash", 32, file), timestamp: LedgerTimestamp(rawValue: try Self.integer(object, "timestamp_us", file)),
            signature: try Self.bytes(object, "signature", 64, file))
    }

    private static func bytes(_ object: [String: Any], _ field: String, _ count: Int, _ file: String) throws -> [UInt8] {
        guard let text = object[field] as? String, let bytes = HexText.bytes(text), bytes.count == count else {
            throw Problem(description: "\(file): \(field) is not \(count) bytes of hex")
        }
        return bytes
    }

    private static func integer(_ object: [String: Any], _ field: String, _ file: String) throws -> Int64 {
        guard let number = object[field] as? NSNumber, number.int64Value >= 0, number.doubleValue == Double(number.int64Value) else {
            throw Problem(description: "\(file): \(field) is not a whole number")
        }
        return number.int64Value
    }
}
