import Foundation

/// Certificates from scripts/gen-certs.sh, as an operator makes them: a CA, a server certificate
/// for localhost, 127.0.0.1 and ::1, and a client certificate.
public struct TestCertificates: Sendable {
    public var directory: String
    public var authority: String { "\(self.directory)/ca.pem" }
    public var serverCertificate: String { "\(self.directory)/server.pem" }
    public var serverKey: String { "\(self.directory)/server.key" }
    public var clientCertificate: String { "\(self.directory)/client.pem" }
    public var clientKey: String { "\(self.directory)/client.key" }

    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// One set for the whole run, made once, on a thread of its own: openssl takes a second or two,
    /// and a test's task waiting on it must not hold one of the few threads the other tests run on.
    public static func make() async throws -> TestCertificates {
        try await self.shared.value
    }

    /// A set of its own, from another CA, for tests that need a stranger's certificates.
    public static func makeAnother() async throws -> TestCertificates {
        try await self.generate()
    }

    private static let shared = Task<TestCertificates, any Error> { try await generate() }

    private static func generate() async throws -> TestCertificates {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result {
                    let directory = try makeTemporaryDirectory("certs")
                    let result = try Subprocess.run(["bash", Self.repository.appendingPathComponent("scripts/gen-certs.sh").path, directory])
                    guard result.status == 0 else { throw Subprocess.Failure(command: ["gen-certs.sh", directory], errno: EIO) }
                    return TestCertificates(directory: directory)
                })
            }.start()
        }
    }
}

/// A TCP listener on loopback that accepts connections and never reads or writes: a port that
/// answers the connect but never speaks TLS.
public final class TCPListener: Sendable {
    public let port: Int
    public let descriptor: Int32

    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard descriptor >= 0, bound == 0, listen(descriptor, 16) == 0 else {
            throw Subprocess.Failure(command: ["listen 127.0.0.1:0"], errno: errno)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.descriptor = descriptor
    }

    /// A port nothing listens on (bound, then released).
    public static func unusedPort() throws -> Int {
        let listener = try TCPListener()
        listener.close()
        return listener.port
    }

    public func close() {
        _ = Glibc.close(self.descriptor)
    }
}
