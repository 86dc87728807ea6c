import LedgerProtocol
import NIOCore
import NIOPosix
import NIOSSL

/// How every client connection is opened, for requests and for tails alike: TLS first when there is
/// an endpoint (checked against the name the user gave), then the frame decoder, then the caller's own.
enum ClientChannelSetup {
    /// Connects, and completes once the connection is usable: for TLS, once the handshake succeeded
    /// and the daemon's certificate names the endpoint; until then nothing is written.
    ///
    /// - Parameters:
    ///   - initializer: adds the caller's handlers on the channel's event loop, and returns what the
    ///     caller uses the connection through.
    ///   - abandon: ends that output when the connection turns out unusable (an async channel's
    ///     writer must be finished before it goes).
    static func connect<Output: Sendable>(
        configuration: LedgerClientConfiguration, tls: (endpoint: LedgerTLSEndpoint, context: NIOSSLContext)?, on eventLoop: any EventLoop,
        initializer: @escaping @Sendable (any Channel) throws -> Output, abandon: @escaping @Sendable (Output) -> Void = { _ in }
    ) -> EventLoopFuture<Output> {
        let maximumResponseLength = configuration.maximumResponseLength
        // Completed on every path: handshake done, refused, timed out, or the TCP connect itself failed.
        let handshake = tls.map { Self.handshakePromise(on: eventLoop, deadline: configuration.connectTimeout, endpoint: $0.endpoint) }
        // Made before connecting, and failed when the connect fails, so it is completed on every path too.
        let output = eventLoop.makePromise(of: Output.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    do {
                        try Self.addHandlers(to: channel, tls: tls, handshake: handshake, maximumResponseLength: maximumResponseLength)
                        output.succeed(try initializer(channel))
                    } catch {
                        output.fail(error)
                        throw error
                    }
                }
            }
        let opened: EventLoopFuture<any Channel>
        if let tls, let handshake {
            opened = bootstrap.connect(host: tls.endpoint.host, port: tls.endpoint.port).flatMap { channel in
                handshake.futureResult.map { channel }.flatMapErrorThrowing { error in
                    output.futureResult.whenSuccess(abandon)
                    channel.close(promise: nil)
                    throw error
                }
            }
            opened.whenFailure { handshake.fail($0) }
        } else if let untrusted = configuration.untrustedSocket {
            opened = eventLoop.makeFailedFuture(untrusted)
        } else {
            opened = bootstrap.connect(unixDomainSocketPath: configuration.socketPath)
        }
        opened.whenFailure { output.fail($0) }
        return opened.flatMap { _ in output.futureResult }
    }

    /// A promise the handshake completes, failed by itself when the handshake takes longer than `deadline`
    /// (a port that accepts but never speaks TLS).
    private static func handshakePromise(on eventLoop: any EventLoop, deadline: TimeAmount, endpoint: LedgerTLSEndpoint) -> EventLoopPromise<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        let timer = eventLoop.scheduleTask(in: deadline) {
            promise.fail(
                LedgerClientError(
                    code: .tlsHandshake,
                    message: "TLS handshake with ledgerd at \(endpoint.description) failed: no handshake within \(ClientConnection.StateMachine.describe(deadline))"))
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise
    }

    private static func addHandlers(
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
