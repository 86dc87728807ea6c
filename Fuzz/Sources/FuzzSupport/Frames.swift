import LedgerProtocol
import NIOCore

/// Splits fuzzer input into frames as a connection would, stream end included, and hands each on.
///
/// A framing error ends the input, as it ends a connection: nothing after it is read.
public func forEachFrame(_ start: UnsafeRawPointer, _ count: Int, _ body: (LedgerFrame) -> Void) {
    var buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(start: start, count: count))
    var decoder = LedgerFrameDecoder(maximumFrameLength: 1 << 16)
    do {
        while let frame = try decoder.decode(buffer: &buffer) {
            body(frame)
        }
        while let frame = try decoder.decodeLast(buffer: &buffer, seenEOF: true) {
            body(frame)
        }
    } catch {
        return
    }
}
