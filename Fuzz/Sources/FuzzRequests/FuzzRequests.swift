import FuzzSupport
import LedgerProtocol

/// Feeds arbitrary bytes through the path every byte from a client takes in ledgerd:
/// framing, request decoding, then the checks the daemon makes before anything is queued.
///
/// A decoded request must encode back to a frame that decodes to the same request,
/// so a message the daemon accepts can never be read two ways.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequests(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    forEachFrame(start, count, check)
    return 0
}

private func check(_ frame: LedgerFrame) {
    guard let request = try? LedgerRequest.decode(frame) else { return }
    switch request {
    case .logEvent(let message): _ = try? message.event.validate()
    case .logJobEvent(let message): _ = try? message.event().validate()
    case .logClipEvent(let message): _ = try? message.event().validate()
    case .logBatch(let message):
        for event in message.events { _ = try? event.validate() }
    case .reportGap(let report): _ = try? report.event().validate()
    case .query(let query): _ = try? query.validate(maximumLimit: 1000)
    case .count(let count): _ = try? count.filter.validate()
    case .subscribe(let subscribe): _ = try? subscribe.filter.validate()
    case .ping, .sync, .stats: break
    }
    let again = try? LedgerRequest.decode(request.frame(requestID: frame.requestID))
    precondition(again == request, "request does not survive encode and decode: \(request)")
}
