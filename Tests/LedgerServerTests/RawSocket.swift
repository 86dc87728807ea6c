import Foundation
import LedgerProtocol
import LedgerTestSupport
import NIOCore

/// A Unix-socket peer that sends exactly the bytes a test gives it, so hostile
/// input reaches the daemon unfiltered by any client library.
///
/// Its blocking reads run on a thread of their own so they never hold a thread of the
/// cooperative pool the in-process daemon needs.
final class RawSocket: @unchecked Sendable {
    // @unchecked: each test uses a socket from one task at a time; the thread hop only lends the call a thread.
    private var descriptor: Int32
    private var received = ByteBuffer()

    /// - Parameter receiveTimeoutSeconds: how long a read waits before it reports nothing, so a test
    ///   never hangs; long enough for a sanitizer's build on a busy machine, where an answer that
    ///   takes 10 ms in a plain run has been seen to take more than 10 s, and the heavy storage
    ///   suites running beside it under the address sanitizer have held answers back for over a minute.
    init(path: String, receiveTimeoutSeconds: Int = 180) throws {
        guard let descriptor = RawConnection.unix(path) else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        self.descriptor = descriptor
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(self.descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        self.close()
    }

    /// Closes the socket at once, whatever the daemon still owes it.
    func close() {
        guard self.descriptor >= 0 else { return }
        Foundation.close(self.descriptor)
        self.descriptor = -1
    }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.send(self.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    func send(_ request: LedgerRequest, requestID: UInt32) {
        var buffer = ByteBuffer()
        request.encode(requestID: requestID, into: &buffer)
        self.send(Array(buffer.readableBytesView))
    }

    func shutdownWrite() {
        shutdown(self.descriptor, Int32(SHUT_WR))
    }

    /// The next response, or nil when the daemon closed the connection.
    func receive() async throws -> (requestID: UInt32, response: LedgerResponse)? {
        try await onThreadOfItsOwn { try self.receiveBlocking() }
    }

    private func receiveBlocking() throws -> (requestID: UInt32, response: LedgerResponse)? {
        var decoder = LedgerFrameDecoder(maximumFrameLength: 64 << 20)
        while true {
            if let frame = try decoder.decode(buffer: &self.received) {
                return (frame.requestID, try LedgerResponse.decode(frame))
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = recv(self.descriptor, &chunk, chunk.count, 0)
            if count == 0 { return nil }
            if count < 0 {
                if errno == ECONNRESET { return nil }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            self.received.writeBytes(chunk[0..<count])
        }
    }

    func request(_ request: LedgerRequest, requestID: UInt32 = 1) async throws -> LedgerResponse? {
        self.send(request, requestID: requestID)
        return try await self.receive()?.response
    }
}
