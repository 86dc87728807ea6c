import LedgerTLS
import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// Logs who each TLS peer is once its certificate has been verified, and why a handshake failed.
final class TLSPeerLogger: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let logger: Logger
    private var handshakeCompleted = false

    init(logger: Logger) {
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted(let protocolName) = event {
            self.handshakeCompleted = true
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

    /// A peer leaving without close_notify is ordinary (debug); a refused handshake is one line at notice
    /// saying who and why, never BoringSSL's raw text with its build paths.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let peer = context.remoteAddress?.description ?? "unknown"
        if TLSFailure.isOrdinaryDisconnect(error) {
            self.logger.debug("TLS peer disconnected", metadata: ["peer": "\(peer)"])
        } else if let reason = TLSFailure.serverReason(error) {
            if self.handshakeCompleted {
                self.logger.notice("TLS connection failed", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
            } else {
                self.logger.notice("TLS handshake refused", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
            }
        } else {
            self.logger.debug("TLS connection ended", metadata: ["peer": "\(peer)", "error": "\(error)"])
        }
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
