import Foundation
import LedgerTestSupport
import LedgerTree
import Testing

@testable import LedgerServer

/// The log's key file: made once with the owner's mode, read back as the same key, and refused
/// with a reason when missing, readable by others, or not a key.
@Suite struct SigningKeyFileTests {
    @Test func aDefaultKeyIsMadeOnceOwnerOnlyWithItsPublicHalfBeside() throws {
        let directory = try makeTemporaryDirectory("key")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = SigningKeyFile(path: "\(directory)/data/ledger-signing.key", createsIfMissing: true)
        let (made, created) = try file.load()
        #expect(created)
        var info = stat()
        #expect(stat(file.path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        let publicPEM = try String(contentsOfFile: file.publicKeyPath, encoding: .utf8)
        #expect(try LogPublicKey(pem: publicPEM) == made.publicKey)
        let (again, createdAgain) = try file.load()
        #expect(!createdAgain && again.publicKey == made.publicKey)
    }

    @Test func aKeyThatIsMissingReadableByOthersOrNotAKeyIsRefusedByName() throws {
        let directory = try makeTemporaryDirectory("key")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = SigningKeyFile(path: "\(directory)/none.pem", createsIfMissing: false)
        #expect(throws: SigningKeyFile.Problem.self) { try missing.load() }
        #expect((try? missing.load()) == nil && !FileManager.default.fileExists(atPath: missing.path))
        do {
            _ = try missing.load()
        } catch {
            #expect(error.description.contains("\(directory)/none.pem: no such file") && error.description.contains("ledger-rpc keygen"))
        }

        let shared = "\(directory)/shared.pem"
        try LogKey().pem.write(toFile: shared, atomically: true, encoding: .utf8)
        chmod(shared, 0o644)
        do {
            _ = try SigningKeyFile(path: shared, createsIfMissing: false).load()
            Issue.record("a key others may read was taken")
        } catch {
            #expect(error.description.contains("may be read by other users (mode 0644)") && error.description.contains("chmod 600"))
        }

        let garbage = "\(directory)/garbage.pem"
        try "not a key\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        chmod(garbage, 0o600)
        do {
            _ = try SigningKeyFile(path: garbage, createsIfMissing: false).load()
            Issue.record("a file that is no key was taken")
        } catch {
            #expect(error.description.contains("signing key \(garbage): not an Ed25519 private key"))
        }

        let typedStore = SigningKeyFile(path: "\(directory)/nonexistent/ledger-signing.key", createsIfMissing: true, createsDirectory: false)
        #expect(throws: SigningKeyFile.Problem.self) { try typedStore.load() }
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/nonexistent"))
    }
}
