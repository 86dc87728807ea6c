import Foundation
import LedgerFiles
import LedgerTestSupport
import Testing

/// `LISTEN_FDS` as sd_listen_fds reads it, on real sockets moved to a range of descriptors of
/// their own (the test process's 3 and 4 are taken).
@Suite struct SocketActivationTests {
    static let first: CInt = 700

    /// Moves the descriptors to `first`, `first + 1`, … and closes them after `body`.
    static func placed<T>(_ descriptors: [CInt], _ body: () throws -> T) rethrows -> T {
        for (index, descriptor) in descriptors.enumerated() {
            #expect(dup2(descriptor, Self.first + CInt(index)) == Self.first + CInt(index))
            close(descriptor)
        }
        defer { for index in descriptors.indices { close(Self.first + CInt(index)) } }
        return try body()
    }

    static func environment(_ count: Int, names: String? = nil, pid: pid_t = getpid()) -> [String: String] {
        var environment = ["LISTEN_PID": "\(pid)", "LISTEN_FDS": "\(count)"]
        environment["LISTEN_FDNAMES"] = names
        return environment
    }

    static func unixListener(_ path: String, listening: Bool = true, type: Int32 = Int32(SOCK_STREAM.rawValue)) throws -> CInt {
        try RawConnection.unixListener(at: path, type: type, listening: listening)
    }

    @Test func aUnixAndATCPSocketAreToldApartByTheirAddresses() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let unix = try Self.unixListener("\(directory)/ledgerd.sock")
        let tcp = try TCPListener()
        let sockets = try Self.placed([unix, dup(tcp.descriptor)]) {
            try SocketActivation.sockets(environment: Self.environment(2, names: "unix:tls"), startingAt: Self.first)
        }
        tcp.close()
        #expect(
            sockets == [
                ActivatedSocket(descriptor: Self.first, name: "unix", address: .unix(path: "\(directory)/ledgerd.sock")),
                ActivatedSocket(descriptor: Self.first + 1, name: "tls", address: .tcp("127.0.0.1:\(tcp.port)")),
            ])
    }

    @Test func socketsMeantForAnotherProcessOrNoneAtAllAreNotTaken() throws {
        #expect(try SocketActivation.sockets(environment: [:]) == [])
        #expect(try SocketActivation.sockets(environment: ["LISTEN_FDS": "1"]) == [], "without LISTEN_PID, as sd_listen_fds")
        #expect(try SocketActivation.sockets(environment: Self.environment(1, pid: getpid() + 1)) == [])
    }

    @Test func theDescriptorsBecomeCloseOnExec() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let unix = try Self.unixListener("\(directory)/s")
        try Self.placed([unix]) {
            _ = fcntl(Self.first, F_SETFD, 0)
            _ = try SocketActivation.sockets(environment: Self.environment(1), startingAt: Self.first)
            #expect(fcntl(Self.first, F_GETFD) & FD_CLOEXEC != 0)
        }
    }

    @Test func namesAreLabelsAndMissingOnesAreUnknown() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sockets = try Self.placed([try Self.unixListener("\(directory)/a"), try Self.unixListener("\(directory)/b")]) {
            try SocketActivation.sockets(environment: Self.environment(2, names: "first"), startingAt: Self.first)
        }
        #expect(sockets.map(\.name) == ["first", "unknown"])
    }

    @Test(arguments: [
        (["LISTEN_PID": "me", "LISTEN_FDS": "1"], "LISTEN_PID=me is not a process id"),
        (["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "two"], "LISTEN_FDS=two is not a count"),
        (["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "-1"], "LISTEN_FDS=-1 is not a count"),
    ])
    func aVariableNoManagerWouldSetIsNamed(environment: [String: String], message: String) {
        #expect {
            try SocketActivation.sockets(environment: environment, startingAt: Self.first)
        } throws: { error in
            (error as? SocketActivation.Problem)?.description.hasPrefix(message) == true
        }
    }

    @Test func aDescriptorThatIsNotAListeningStreamSocketIsRefusedByName() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = open("\(directory)/plain", O_CREAT | O_RDWR, 0o600)
        let cases: [(CInt, String)] = [
            (file, "is not a socket"),
            (try Self.unixListener("\(directory)/d", listening: false, type: Int32(SOCK_DGRAM.rawValue)), "is not a stream socket"),
            (try Self.unixListener("\(directory)/quiet", listening: false), "is not listening"),
        ]
        for (descriptor, reason) in cases {
            Self.placed([descriptor]) {
                #expect {
                    try SocketActivation.sockets(environment: Self.environment(1, names: "given"), startingAt: Self.first)
                } throws: { error in
                    (error as? SocketActivation.Problem)?.description.hasPrefix("socket activation passed fd \(Self.first) (given), which \(reason)") == true
                }
            }
        }
    }
}
