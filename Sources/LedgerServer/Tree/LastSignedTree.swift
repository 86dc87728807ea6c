import Foundation
import LedgerProtocol
import LedgerStore
import LedgerTree

/// The last tree this daemon signed, and in which store, kept in a file beside its key rather than
/// in the store, so that at its next start on that store the store's log must still extend it.
///
/// The daemon signs whatever tree its store holds. Without this file, whoever can write the store
/// but not the daemon's host (a PostgreSQL user, a restored backup) could rewind the log, or rewrite
/// what was signed, and have the daemon sign over it. A daemon that stops cleanly signs its last
/// commit and says so in the file (`stopped`), so that leaves after that tree (of one leaf or
/// more) can only have been written into the store while it was down, and stop the start too. After a crash, leaves after
/// the last signed tree are signed with a warning naming how many: the last second's commits went
/// unsigned, and nothing tells them apart from leaves written since. A key taken to another store
/// (another file, another database) starts over there: the file then follows that store.
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

    /// What the file says: the tree, and whether the daemon stopped cleanly after signing it.
    struct Contents {
        var store: String
        var logID: [UInt8]
        var frontier: TreeFrontier
        var stopped: Bool
    }

    /// The file's contents; nil when there is no file.
    func read() throws(Problem) -> Contents? {
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
        return Contents(store: store, logID: logID, frontier: frontier, stopped: fields["stopped"] == "yes")
    }

    /// Replaces the file whole (a new file renamed over it), so a crash leaves the old one or the new.
    /// - Parameter stopped: the daemon is stopping and will commit nothing after this tree.
    func write(_ state: LogTreeState, stopped: Bool = false) throws(Problem) {
        let text =
            "\(Self.heading)\nstore \(self.store)\nlog_id \(HexText.text(state.logID))\nfrontier \(HexText.text(state.frontier.bytes))\n"
            + (stopped ? "stopped yes\n" : "")
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
        // A daemon that signed no leaf yet has its log's first leaves still to take: the events
        // loaded into the store before its log began, which the log adopts as it starts.
        guard !last.stopped || signed.size == 0 || state.size == signed.size else {
            throw Problem(
                description: "the store's log \(log) holds \(state.size - signed.size) leaves after the tree of \(signed.size) this daemon signed as it stopped (\(self.path)): a daemon that stops commits nothing after its last head, so they were written into the store while it was down; \(onward)")
        }
        return state.size - signed.size
    }

    /// Once the start's check passed: the file no longer says the daemon stopped, so that a crash
    /// before its next head leaves unsigned commits that the next start signs with a warning.
    public func markRunning() throws(Problem) {
        guard var contents = try self.read(), contents.store == self.store, contents.stopped else { return }
        contents.stopped = false
        try self.write(LogTreeState(logID: contents.logID, frontier: contents.frontier))
    }
}
