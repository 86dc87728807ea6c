import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerFiles

/// Directories another user owns or may write in are refused; those the daemon makes are its own.
@Suite struct PrivateDirectoryTests {
    static func scratch() throws -> String {
        let path = try makeTemporaryDirectory("dir")
        chmod(path, 0o700)
        return path
    }

    @Test func createsAMissingDirectoryForItsOwnerAndGroupOnly() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/a/b/ledgerd"
        try PrivateDirectory.prepare(path, purpose: "socket directory")
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o750)
        #expect(info.st_uid == getuid())
        try PrivateDirectory.prepare(path, purpose: "socket directory")
    }

    @Test(arguments: [(0o777 as mode_t, "every user"), (0o770, "its group"), (0o1777, "every user")])
    func refusesADirectoryOthersMayWriteIn(mode: mode_t, who: String) throws {
        let path = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: path) }
        chmod(path, mode)
        let problem = try #require(PrivateDirectory.problem(with: path, purpose: "data directory"))
        #expect(problem.description.contains("writable by \(who)"), "\(problem)")
        #expect(throws: PrivateDirectory.Problem.self) { try PrivateDirectory.prepare(path, purpose: "data directory") }
    }

    @Test func refusesALinkToADirectory() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/real", withIntermediateDirectories: false)
        chmod(root + "/real", 0o700)
        symlink(root + "/real", root + "/link")
        #expect(PrivateDirectory.problem(with: root + "/real", purpose: "socket directory") == nil)
        #expect(PrivateDirectory.problem(with: root + "/link", purpose: "socket directory")?.description.contains("not a directory") == true)
    }

    /// As root a test can make the directory another user's, as a squatter in /tmp would.
    @Test(.enabled(if: getuid() == 0))
    func refusesADirectoryAnotherUserOwns() throws {
        let path = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(chown(path, 65_534, 65_534) == 0)
        let problem = try #require(PrivateDirectory.problem(with: path, purpose: "socket directory", owner: 1_000))
        #expect(problem.description.contains("belongs to uid 65534, not to uid 1000"), "\(problem)")
        #expect(PrivateDirectory.problem(with: path, purpose: "socket directory", owner: 65_534) == nil)
    }
}
