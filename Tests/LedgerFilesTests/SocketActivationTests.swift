import Foundation
import LedgerFiles
import LedgerTestSupport
import Testing

/// `LISTEN_FDS` as sd_listen_fds reads it, on real sockets. They stay on the descriptors they
/// were opened on (the suite's other tests own 3, 4, …) and the test says where each one is.
@Suite struct SocketActivationTests {
    /// Runs `body` with the descriptors as sockets 0, 1, … and closes them after.
    static func placed<T>(_ descriptors: [CInt], _ body: (@escaping (Int) -> CInt) throws -> T) rethrows -> T {
        defer { descriptors.forEach { close($0) } }
        return try body { descriptors[$0] }
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
        let copy = dup(tcp.descriptor)
        let sockets = try Self.placed([unix, copy]) { at in
            try SocketActivation.sockets(environment: Self.environment(2, names: "unix:tls"), descriptor: at)
        }
        tcp.close()
        #expect(
            sockets == [
                ActivatedSocket(descriptor: unix, name: "unix", address: .unix(path: "\(directory)/ledgerd.sock")),
                ActivatedSocket(descriptor: copy, name: "tls", address: .tcp("127.0.0.1:\(tcp.port)")),
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
        try Self.placed([unix]) { at in
            _ = fcntl(unix, F_SETFD, 0)
            _ = try SocketActivation.sockets(environment: Self.environment(1), descriptor: at)
            #expect(fcntl(unix, F_GETFD) & FD_CLOEXEC != 0)
        }
    }

    @Test func namesAreLabelsAndMissingOnesAreUnknown() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sockets = try Self.placed([try Self.unixListener("\(directory)/a"), try Self.unixListener("\(directory)/b")]) { at in
            try SocketActivation.sockets(environment: Self.environment(2, names: "first"), descriptor: at)
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
            try SocketActivation.sockets(environment: environment, descriptor: { _ in -1 })
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
            _ = Self.placed([descriptor]) { at in
                #expect {
                    try SocketActivation.sockets(environment: Self.environment(1, names: "given"), descriptor: at)
                } throws: { error in
                    (error as? SocketActivation.Problem)?.description.hasPrefix("socket activation passed fd \(descriptor) (given), which \(reason)") == true
                }
            }
        }
    }
}
