import FuzzSupport
import LedgerProtocol

/// Feeds arbitrary bytes through what a client reads from a daemon (or from whatever
/// answers on its socket): framing, then response decoding.
///
/// A decoded response must encode back to a frame that decodes to the same response.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResponses(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    forEachFrame(start, count, check)
    return 0
}

private func check(_ frame: LedgerFrame) {
    guard let response = try? LedgerResponse.decode(frame) else { return }
    let again = try? LedgerResponse.decode(response.frame(requestID: frame.requestID))
    precondition(again == response, "response does not survive encode and decode: \(response)")
}
