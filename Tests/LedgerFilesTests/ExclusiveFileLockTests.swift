import Foundation
import LedgerFiles
import LedgerTestSupport
import Testing

@Suite struct ExclusiveFileLockTests {
    static func directory() throws -> String {
        try makeTemporaryDirectory("lock")
    }

    @Test func aSecondHolderIsRefusedWithTheFirstsPidUntilItLetsGo() throws {
        let path = try Self.directory() + "/ledger.sqlite.lock"
        let first = try ExclusiveFileLock(path: path, guarding: "the SQLite store x")
        #expect(throws: ExclusiveFileLock.Refusal.self) { try ExclusiveFileLock(path: path, guarding: "the SQLite store x") }
        do {
            _ = try ExclusiveFileLock(path: path, guarding: "the SQLite store x")
        } catch {
            #expect(error.description.contains("in use by another ledgerd") && error.description.contains("this process"), "\(error)")
        }
        first.release()
        let second = try ExclusiveFileLock(path: path, guarding: "the SQLite store x")
        second.release()
    }

    @Test func aMissingDirectoryIsMadeOnlyWhenAsked() throws {
        let base = try Self.directory()
        #expect(throws: PrivateDirectory.Problem.self) {
            try PrivateDirectory.prepare("\(base)/typo/dir", purpose: "socket directory", creating: false)
        }
        #expect(!FileManager.default.fileExists(atPath: "\(base)/typo"), "nothing is created")
        try PrivateDirectory.prepare("\(base)/default/dir", purpose: "socket directory", creating: true)
        #expect(FileManager.default.fileExists(atPath: "\(base)/default/dir"))
    }
}
