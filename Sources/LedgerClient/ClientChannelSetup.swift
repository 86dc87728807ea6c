import LedgerProtocol
import NIOCore
import NIOSSL

/// The handlers every client connection starts with, for requests and for tails alike.
enum ClientChannelSetup {
    /// A promise the handshake completes, failed by itself when the handshake takes longer than `deadline`
    /// (a port that accepts but never speaks TLS).
    static func handshakePromise(on eventLoop: any EventLoop, deadline: TimeAmount, endpoint: LedgerTLSEndpoint) -> EventLoopPromise<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        let timer = eventLoop.scheduleTask(in: deadline) {
            promise.fail(
                LedgerClientError(
                    code: .tlsHandshake,
                    message: "TLS handshake with ledgerd at \(endpoint.description) failed: no handshake within \(ClientConnection.describe(deadline))"))
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise
    }

    /// TLS first when there is an endpoint (checked against the name the user gave), then the frame decoder.
    static func addHandlers(
        to channel: any Channel, tls: (endpoint: LedgerTLSEndpoint, context: NIOSSLContext)?, handshake: EventLoopPromise<Void>?,
        maximumResponseLength: Int
    ) throws {
        if let tls {
            let name = tls.endpoint.verifiedName
            // SNI carries only names; an address is checked against the certificate's IP SANs.
            let sni = ServerIdentity.addressBytes(name) == nil ? name : nil
            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls.context, serverHostname: sni))
            if let handshake {
                try channel.pipeline.syncOperations.addHandler(TLSHandshakeWaiter(promise: handshake, endpoint: tls.endpoint))
            }
        }
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LedgerFrameDecoder(maximumFrameLength: maximumResponseLength)))
    }
}
