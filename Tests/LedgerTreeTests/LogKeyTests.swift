import Foundation
import NIOCore
import LedgerProtocol
import LedgerTree
import Testing

@Suite struct LogKeyTests {
    /// An Ed25519 key as `openssl genpkey -algorithm ed25519` writes it, and its public half from `openssl pkey -pubout`.
    static let opensslPrivate = """
        -----BEGIN PRIVATE KEY-----
        MC4CAQAwBQYDK2VwBCIEIEh2xJvQRS6+eYCt1NprSs4oE10QGIHQ2+VPXAtrjeDe
        -----END PRIVATE KEY-----
        """
    static let opensslPublic = """
        -----BEGIN PUBLIC KEY-----
        MCowBQYDK2VwAyEAeSay/okxaTTAjNAWxUFJDHBFqwkpY+V9h5KrzgZ6Oz0=
        -----END PUBLIC KEY-----
        """

    @Test func aHeadSignedWithAKeyVerifiesWithItsPublicHalfOnly() throws {
        let key = LogKey()
        let root = MerkleHash.leaf([1, 2, 3])
        let head = try key.sign(size: 7, root: root, timestamp: LedgerTimestamp(rawValue: 1_700_000_000_000_000))
        #expect(head.logID == key.publicKey.logID.bytes)
        #expect(key.publicKey.isValidSignature(head))
        #expect(!LogKey().publicKey.isValidSignature(head))
        for change in [
            { (head: inout SignedTreeHead) in head.treeSize += 1 },
            { (head: inout SignedTreeHead) in head.rootHash[0] ^= 1 },
            { (head: inout SignedTreeHead) in head.timestamp = LedgerTimestamp(rawValue: head.timestamp.rawValue + 1) },
            { (head: inout SignedTreeHead) in head.signature[10] ^= 1 },
        ] {
            var altered = head
            change(&altered)
            #expect(!key.publicKey.isValidSignature(altered))
        }
    }

    @Test func keysRoundTripThroughPEMAndOpenSSLsFormReads() throws {
        let key = LogKey()
        let again = try LogKey(pem: key.pem)
        #expect(again.publicKey == key.publicKey)
        #expect(try LogPublicKey(pem: key.publicKey.pem) == key.publicKey)
        let openssl = try LogKey(pem: Self.opensslPrivate)
        #expect(openssl.publicKey == (try LogPublicKey(pem: Self.opensslPublic)))
        #expect(throws: TreeError.self) { try LogKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }
        #expect(throws: TreeError.self) { try LogPublicKey(pem: key.pem) }
    }

    /// A P-256 key, as `openssl genpkey -algorithm EC` writes it: a PRIVATE KEY, but not Ed25519.
    static let anotherAlgorithm = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgd3QrJRWHBgKOyRPq
        AWkjwQsNFW+Y0n/qKWRJawb/hLWhRANCAAQ3uUX70JXAXpNU50QnkpqI0K6fwbKM
        7FbYUkahYJgoyq2U9Tf7oAbLp7vhs5i2z6X0eRyjycIILM8fLFcqa30S
        -----END PRIVATE KEY-----

        """

    /// The usual mistakes with key files are said in the operator's terms, not the library's.
    @Test func aFileThatIsNotTheKeyWantedSaysWhatItHolds() {
        let key = LogKey()
        let cases: [(what: String, pem: String, asPublic: Bool, says: String)] = [
            ("the public half as the private key", key.publicKey.pem, false, "it holds a PUBLIC KEY"),
            ("the private half as the public key", key.pem, true, "it holds a PRIVATE KEY"),
            ("no key at all", "garbage\n", false, "it holds no PEM block"),
            ("another algorithm's key", Self.anotherAlgorithm, false, "its PRIVATE KEY is another algorithm's, or damaged"),
        ]
        for attempt in cases {
            do throws(TreeError) {
                if attempt.asPublic { _ = try LogPublicKey(pem: attempt.pem) } else { _ = try LogKey(pem: attempt.pem) }
                Issue.record("\(attempt.what) was taken")
            } catch {
                #expect(error.message.hasSuffix(attempt.says), "\(attempt.what): \(error.message)")
            }
        }
    }

    @Test func headsRoundTripOnTheWire() throws {
        let head = try LogKey().sign(size: 123_456, root: MerkleHash.leaf([9]), timestamp: LedgerTimestamp(rawValue: 42))
        var buffer = ByteBuffer()
        head.encode(into: &buffer)
        #expect(buffer.readableBytes == 32 + 8 + 32 + 8 + 64)
        #expect(try SignedTreeHead.decode(from: &buffer) == head)
        var short = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: LedgerProtocolError.self) { try SignedTreeHead.decode(from: &short) }
    }
}
