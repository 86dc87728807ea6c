import Foundation
import LedgerProtocol
import LedgerStore
import LedgerTree

/// The last tree this daemon signed, and in which store, kept in a file beside its key rather than
/// in the store, so that at its next start on that store the store's log must still extend it.
///
/// The daemon signs whatever tree its store holds. Without this file, whoever can write the store
/// but not the daemon's host (a PostgreSQL user, a restored backup) could rewind the log, or rewrite
/// what was signed, and have the daemon sign over it. Leaves after the last signed tree are signed,
/// with a warning naming how many: a crash leaves the last second's commits unsigned, and those look
/// the same as leaves written into the store while the daemon was down. A key taken to another
/// store (another file, another database) starts over there: the file then follows that store.
public struct LastSignedTree: Sendable {
    public let path: String
    /// Which store the daemon signs for: the SQLite file's resolved path, or the PostgreSQL database
    /// as `postgres://user@host:port/dbname`.
    public let store: String

    /// The file beside the signing key, `KEY.last-tree`, for the daemon of `store`.
    public init(beside key: SigningKeyFile, store: StoreLocation) {
        self.path = key.path + ".last-tree"
        switch store {
        case .sqlite(let path): self.store = "sqlite:" + URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        default: self.store = store.description
        }
    }

    /// Why the store cannot be continued, or the file cannot be read or written.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private static let heading = "ledgerd last signed tree"

    /// The store, log and frontier in the file; nil when there is no file.
    func read() throws(Problem) -> (store: String, logID: [UInt8], frontier: TreeFrontier)? {
        guard let data = FileManager.default.contents(atPath: self.path) else {
            if access(self.path, F_OK) != 0 { return nil }
            throw Problem(description: "\(self.path) cannot be read: \(String(cString: strerror(errno)))")
        }
        var fields: [String: String] = [:]
        let lines = String(decoding: data.prefix(64 << 10), as: UTF8.self).split(separator: "\n")
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        guard lines.first.map(String.init) == Self.heading, let store = fields["store"], let logID = fields["log_id"].flatMap({ HexText.bytes($0) }),
            let frontier = fields["frontier"].flatMap({ HexText.bytes($0) }).flatMap({ TreeFrontier(bytes: $0) })
        else {
            throw Problem(description: "\(self.path) is not a last signed tree that ledgerd wrote; move it away to start without it")
        }
        return (store, logID, frontier)
    }

    /// Replaces the file whole (a new file renamed over it), so a crash leaves the old one or the new.
    func write(_ state: LogTreeState) throws(Problem) {
        let text = "\(Self.heading)\nstore \(self.store)\nlog_id \(HexText.text(state.logID))\nfrontier \(HexText.text(state.frontier.bytes))\n"
        let temporary = self.path + ".new"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Problem(description: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == bytes.count, rename(temporary, self.path) == 0 else {
            throw Problem(description: "cannot write \(self.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Checks, before the daemon signs anything, that the store's log extends the tree in the file:
    /// as large, and the same tree once the leaves after it are added. Returns how many leaves came
    /// after it; nothing to check without a file, or with the file of another store or key.
    public func check(_ state: LogTreeState, source: any TreeSource) async throws -> UInt64 {
        guard let last = try self.read(), last.store == self.store, last.logID == state.logID else { return 0 }
        let signed = last.frontier
        let log = HexText.text(state.logID)
        let onward =
            "ledgerd signs no history that does not extend what it signed: verify the store (ledger-rpc verify --store) and, to continue from it as it is (a backup restored on purpose), move \(self.path) away"
        guard state.size >= signed.size else {
            throw Problem(
                description: "the store's log \(log) holds \(state.size) leaves, fewer than the \(signed.size) this daemon last signed (\(self.path)): its tree was emptied or cut back, or the store is an older copy; \(onward)")
        }
        var frontier = signed
        while frontier.size < state.size {
            let records = try await source.leafRecords(
                logID: state.logID, from: frontier.size, limit: Int(min(65_536, state.size - frontier.size)))
            guard !records.isEmpty else { break }
            for record in records.prefix(Int(state.size - frontier.size)) { frontier.append(record.hash) }
        }
        guard frontier == state.frontier else {
            throw Problem(
                description: "the store's log \(log) does not extend the tree of \(signed.size) leaves this daemon last signed (\(self.path)): leaves it signed were changed, or the store is another copy; \(onward)")
        }
        return state.size - signed.size
    }
}
