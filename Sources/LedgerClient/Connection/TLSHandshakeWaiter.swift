import NIOCore
import NIOSSL
import NIOTLS

/// Completes its promise when the TLS handshake succeeds and the daemon's certificate names the
/// endpoint, or fails it with the reason it did not; every path through the channel completes it.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let promise: EventLoopPromise<Void>
    private let endpoint: LedgerTLSEndpoint

    init(promise: EventLoopPromise<Void>, endpoint: LedgerTLSEndpoint) {
        self.promise = promise
        self.endpoint = endpoint
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate
            let problem =
                certificate.map { ServerIdentity.problem(certificate: $0, expected: self.endpoint.verifiedName) }
                ?? "the daemon sent no certificate"
            if let problem {
                self.promise.fail(
                    LedgerClientError(code: .tlsHandshake, message: "TLS handshake with ledgerd at \(self.endpoint.description) failed: \(problem)"))
                context.close(promise: nil)
                return
            }
            self.promise.succeed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.promise.fail(ChannelError.eof)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.promise.fail(ChannelError.ioOnClosedChannel)
    }
}
