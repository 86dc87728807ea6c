import Foundation
import NIOSSL

/// The TLS-over-TCP listener for remote debugging: client certificates required, no plaintext.
public struct TLSListenerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var certificatePath: String
    public var privateKeyPath: String
    /// Clients must present a certificate issued by one of these CAs.
    public var clientCAPath: String
    /// Whether TLS peers may log events; by default they may only read.
    public var allowWrites: Bool = false
    /// A listening TCP socket the service manager passed, served instead of binding host and port.
    public var activatedSocket: CInt?

    public init(host: String, port: Int, certificatePath: String, privateKeyPath: String, clientCAPath: String) {
        self.host = host
        self.port = port
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.clientCAPath = clientCAPath
    }

    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// Loads and checks every file, so a bad one stops start-up with its name rather than failing each handshake.
    public func makeServerContext() throws(Error) -> NIOSSLContext {
        let chain = try Self.load("--tls-cert", self.certificatePath) { try NIOSSLCertificate.fromPEMFile($0) }
        guard !chain.isEmpty else { throw Error(description: "--tls-cert \(self.certificatePath) holds no PEM certificate") }
        let key = try Self.load("--tls-key", self.privateKeyPath) { try NIOSSLPrivateKey(file: $0, format: .pem) }
        let authorities = try Self.load("--tls-client-ca", self.clientCAPath) { try NIOSSLCertificate.fromPEMFile($0) }
        guard !authorities.isEmpty else { throw Error(description: "--tls-client-ca \(self.clientCAPath) holds no PEM certificate") }

        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        // Clients are identified by their certificate, not by a host name.
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates(authorities)
        configuration.sendCANameList = true
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw Error(
                description: "--tls-key \(self.privateKeyPath) does not fit --tls-cert \(self.certificatePath), or they cannot be used together: \(error)")
        }
    }

    private static func load<Value>(_ flag: String, _ path: String, _ body: (String) throws -> Value) throws(Error) -> Value {
        guard FileManager.default.isReadableFile(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "is not readable" : "does not exist"
            throw Error(description: "\(flag) \(path) \(reason)")
        }
        do {
            return try body(path)
        } catch {
            throw Error(description: "\(flag) \(path) is not a PEM file of the expected kind: \(error)")
        }
    }
}
