import NIOCore
import NIOPosix

extension ServerBootstrap {
    /// Bounds what one connection can make the daemon hold before backpressure stops its reads.
    ///
    /// Every frame decoded from a read keeps that read's buffer alive until it is handled,
    /// and while the ingest queue is full a connection's frames wait. With NIO's defaults
    /// (reads of up to 64 KiB, 4 per wake-up) 200 overloading clients took the daemon's
    /// peak RSS from 133 to 207 MiB; at 16 KiB and 2 reads a connection holds 32 KiB of them.
    func boundingReadsPerConnection() -> ServerBootstrap {
        self.childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2_048, maximum: 16_384))
            .childChannelOption(.maxMessagesPerRead, value: 2)
            // A peer that shuts down its write side still waits for its acks: the end of its
            // requests ends the reads, not the connection.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
    }
}
