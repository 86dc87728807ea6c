import Crypto
import CryptoExtras
import Foundation
import LedgerProtocol

/// A log's Ed25519 signing key: what signs its tree heads, and whose public half names the log.
public struct LogKey: Sendable {
    let key: Curve25519.Signing.PrivateKey

    /// A new random key.
    public init() {
        self.key = Curve25519.Signing.PrivateKey()
    }

    /// Reads a PKCS#8 PEM key (`BEGIN PRIVATE KEY`), as `openssl genpkey -algorithm ed25519` and
    /// `ledger-rpc keygen` write it.
    public init(pem: String) throws(TreeError) {
        do {
            self.key = try Curve25519.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw TreeError(.badKey, "not an Ed25519 private key in PEM (BEGIN PRIVATE KEY): \(PEMText.contents(of: pem, wanted: "PRIVATE KEY"))")
        }
    }

    public var pem: String { self.key.pemRepresentation }

    public var publicKey: LogPublicKey { LogPublicKey(key: self.key.publicKey) }

    /// Signs the tree of `size` leaves whose root is `root`, as of `timestamp`.
    public func sign(size: UInt64, root: TreeHash, timestamp: LedgerTimestamp) throws(TreeError) -> SignedTreeHead {
        let logID = self.publicKey.logID.bytes
        let bytes = SignedTreeHead.signedBytes(logID: logID, treeSize: size, rootHash: root.bytes, timestamp: timestamp)
        do {
            let signature = try self.key.signature(for: bytes)
            return SignedTreeHead(logID: logID, treeSize: size, rootHash: root.bytes, timestamp: timestamp, signature: Array(signature))
        } catch {
            throw TreeError(.badKey, "the key could not sign: \(error)")
        }
    }
}

/// A log's public key: what an outsider checks its tree heads with.
public struct LogPublicKey: Sendable, Hashable {
    let key: Curve25519.Signing.PublicKey

    init(key: Curve25519.Signing.PublicKey) {
        self.key = key
    }

    /// Reads a SubjectPublicKeyInfo PEM key (`BEGIN PUBLIC KEY`), as `ledger-rpc keygen` and
    /// `openssl pkey -pubout` write it.
    public init(pem: String) throws(TreeError) {
        do {
            self.key = try Curve25519.Signing.PublicKey(pemRepresentation: pem)
        } catch {
            throw TreeError(.badKey, "not an Ed25519 public key in PEM (BEGIN PUBLIC KEY): \(PEMText.contents(of: pem, wanted: "PUBLIC KEY"))")
        }
    }

    public init(raw: [UInt8]) throws(TreeError) {
        do {
            self.key = try Curve25519.Signing.PublicKey(rawRepresentation: raw)
        } catch {
            throw TreeError(.badKey, "not a raw 32-byte Ed25519 public key")
        }
    }

    public var pem: String { self.key.pemRepresentation }

    public var raw: [UInt8] { Array(self.key.rawRepresentation) }

    /// SHA-256 of the raw 32-byte key: the log's name in tree heads and in the store.
    public var logID: TreeHash { TreeHash(SHA256.hash(data: self.raw)) }

    public func isValidSignature(_ head: SignedTreeHead) -> Bool {
        head.logID == self.logID.bytes && self.key.isValidSignature(head.signature, for: head.signedBytes)
    }

    public static func == (lhs: LogPublicKey, rhs: LogPublicKey) -> Bool { lhs.raw == rhs.raw }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.raw) }
}

/// What went wrong with a tree, a key, a head or a proof, with what to do about it.
public struct TreeError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        public static let badKey = Code(name: "bad key")
        public static let badProof = Code(name: "bad proof")
        public static let badStore = Code(name: "bad tree data")
        public var description: String { self.name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { self.message }
}
