import Foundation
import LedgerFiles
import LedgerTree

/// Where the log's Ed25519 signing key lives, and how it is read or, the first time, made.
///
/// The key is the log's identity: whoever holds it can sign any history, so a key that other users
/// can read is refused, as ssh refuses one.
public struct SigningKeyFile: Sendable, Equatable {
    public var path: String
    /// Whether a missing file is made (the default location); a key named by `--signing-key` must exist.
    public var createsIfMissing: Bool
    /// Whether a missing directory is made for a new key: not beside a SQLite file named by `--store`,
    /// whose directory must exist (a mistyped path is an error, not a new ledger).
    public var createsDirectory: Bool

    public init(path: String, createsIfMissing: Bool, createsDirectory: Bool = true) {
        self.path = path
        self.createsIfMissing = createsIfMissing
        self.createsDirectory = createsDirectory
    }

    /// Why the key cannot be used, naming the file and what to do.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
        /// The file to be made was there already.
        var alreadyExists = false
    }

    /// The public half's file, written beside a key ledgerd makes, for operators to hand to verifiers.
    public var publicKeyPath: String { self.path + ".pub" }

    /// Reads the key, or makes one when it is the default and missing.
    /// - Returns: the key, and whether it was made now.
    public func load() throws(Problem) -> (key: LogKey, created: Bool) {
        var info = stat()
        if stat(self.path, &info) != 0 {
            guard errno == ENOENT, self.createsIfMissing else {
                let reason = errno == ENOENT ? "no such file" : String(cString: strerror(errno))
                throw Problem(
                    description: "signing key \(self.path): \(reason); make one with 'ledger-rpc keygen \(self.path)' or 'openssl genpkey -algorithm ed25519 -out \(self.path)'")
            }
            do {
                return (try self.create(), true)
            } catch where error.alreadyExists {
                // Another daemon sharing the data directory made it first: it is the one to use.
                return (try SigningKeyFile(path: self.path, createsIfMissing: false).load().key, false)
            }
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw Problem(description: "signing key \(self.path) is not a regular file") }
        guard info.st_mode & 0o077 == 0 else {
            throw Problem(
                description: "signing key \(self.path) may be read by other users (mode 0\(String(info.st_mode & 0o777, radix: 8))); anyone who reads it can sign a forged history: chmod 600 \(self.path)")
        }
        guard info.st_size <= 64 << 10 else { throw Problem(description: "signing key \(self.path) is \(info.st_size) bytes, not a PEM key") }
        guard let data = FileManager.default.contents(atPath: self.path), let text = String(data: data, encoding: .utf8) else {
            throw Problem(description: "signing key \(self.path) cannot be read: \(String(cString: strerror(errno)))")
        }
        do {
            return (try LogKey(pem: text), false)
        } catch {
            throw Problem(description: "signing key \(self.path): \(error.message)")
        }
    }

    private func create() throws(Problem) -> LogKey {
        let directory = (self.path as NSString).deletingLastPathComponent
        do throws(PrivateDirectory.Problem) {
            try PrivateDirectory.prepare(directory.isEmpty ? "." : directory, purpose: "data directory", creating: self.createsDirectory)
        } catch {
            throw Problem(description: error.description)
        }
        let key = LogKey()
        try Self.write(key.pem, to: self.path, mode: 0o600)
        try Self.write(key.publicKey.pem, to: self.publicKeyPath, mode: 0o644, replacing: true)
        return key
    }

    /// Writes a new file whole, or fails; the key's file is never replaced.
    static func write(_ text: String, to path: String, mode: mode_t, replacing: Bool = false) throws(Problem) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (replacing ? O_TRUNC : O_EXCL), mode)
        guard descriptor >= 0 else {
            throw Problem(description: "cannot create \(path): \(String(cString: strerror(errno)))", alreadyExists: errno == EEXIST)
        }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(descriptor) == 0 else {
            throw Problem(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
