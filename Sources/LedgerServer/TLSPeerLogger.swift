import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// Logs who each TLS peer is once its certificate has been verified, and why a handshake failed.
final class TLSPeerLogger: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted(let protocolName) = event {
            let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate
            self.logger.info(
                "TLS peer connected",
                metadata: [
                    "peer": "\(context.remoteAddress?.description ?? "unknown")",
                    "subject": "\(certificate.map { Self.subject(of: $0) } ?? "none")",
                    "alpn": "\(protocolName ?? "none")",
                ])
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.notice(
            "TLS connection refused or failed",
            metadata: ["peer": "\(context.remoteAddress?.description ?? "unknown")", "error": "\(error)"])
        context.fireErrorCaught(error)
    }

    /// `CN=ledger-operator,O=SocialSyncLedger`, most specific first, as operators read subjects.
    static func subject(of certificate: NIOSSLCertificate) -> String {
        certificate.subjectName.map { "\(Self.label($0.type))=\($0.value)" }.joined(separator: ",")
    }

    private static func label(_ type: SSLCertificateNameType) -> String {
        switch type {
        case .commonName: "CN"
        case .organization: "O"
        case .organizationalUnit: "OU"
        case .country: "C"
        case .state: "ST"
        case .city: "L"
        case .emailAddress: "emailAddress"
        case .userId: "UID"
        default: "?"
        }
    }
}
