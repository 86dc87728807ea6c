import Foundation
import NIOSSL

/// A remote ledgerd's TLS listener, and the certificate this client proves itself with.
public struct LedgerTLSEndpoint: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// This client's certificate (PEM), issued by the CA the daemon trusts.
    public var certificatePath: String
    public var privateKeyPath: String
    /// The CA (PEM) that issued the daemon's certificate.
    public var caPath: String
    /// The name the daemon's certificate must carry, when it differs from `host` (as `openssl s_client
    /// -servername` takes it); also sent as SNI.
    public var serverName: String?

    public init(host: String, port: Int, certificatePath: String, privateKeyPath: String, caPath: String, serverName: String? = nil) {
        self.serverName = serverName
        self.host = host
        self.port = port
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.caPath = caPath
    }

    /// Parses `tls://HOST:PORT` (IPv6 in brackets).
    public static func parse(address text: String) -> (host: String, port: Int)? {
        guard text.hasPrefix("tls://") else { return nil }
        let rest = text.dropFirst("tls://".count)
        guard let colon = rest.lastIndex(of: ":") else { return nil }
        var host = String(rest[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(rest[rest.index(after: colon)...]), (1...65_535).contains(port) else { return nil }
        return (host, port)
    }

    /// What the daemon's certificate is checked against: `serverName`, else the host as typed.
    var verifiedName: String { self.serverName ?? self.host }

    var description: String { "tls://\(self.host.contains(":") ? "[\(self.host)]" : self.host):\(self.port)" }

    /// Verifies the daemon against `caPath`, TLS 1.2 or newer; the name is checked again after the handshake (`ServerIdentity`).
    func makeContext() throws(LedgerClientError) -> NIOSSLContext {
        func load<Value>(_ what: String, _ path: String, _ body: (String) throws -> Value) throws(LedgerClientError) -> Value {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw LedgerClientError(code: .tlsConfiguration, message: "\(what) \(path) does not exist or is not readable")
            }
            do {
                return try body(path)
            } catch {
                throw LedgerClientError(code: .tlsConfiguration, message: "\(what) \(path) is not a usable PEM file: \(error)")
            }
        }
        let chain = try load("--cert", self.certificatePath) { try NIOSSLCertificate.fromPEMFile($0) }
        let key = try load("--key", self.privateKeyPath) { try NIOSSLPrivateKey(file: $0, format: .pem) }
        let authorities = try load("--ca", self.caPath) { try NIOSSLCertificate.fromPEMFile($0) }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        configuration.trustRoots = .certificates(authorities)
        configuration.certificateChain = chain.map { .certificate($0) }
        configuration.privateKey = .privateKey(key)
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw LedgerClientError(
                code: .tlsConfiguration, message: "--key \(self.privateKeyPath) does not fit --cert \(self.certificatePath): \(error)")
        }
    }
}
