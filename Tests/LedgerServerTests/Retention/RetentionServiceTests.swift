@testable import LedgerServer
import Testing

/// The pace of a purge: a slice rests by its own time, or by the log it wrote where the store
/// says, whichever is longer.
@Suite struct RetentionServiceTests {
    @Test func aSliceRestsThreeTimesItsOwnTimeWhereTheStoreCannotTellItsLog() {
        #expect(RetentionService.rest(after: .milliseconds(4), logBytes: nil) == .milliseconds(12))
    }

    @Test func aSliceThatWroteLittleRestsByItsTime() {
        #expect(RetentionService.rest(after: .milliseconds(4), logBytes: 1_024) == .milliseconds(12))
    }

    @Test func aSliceThatWroteMuchRestsUntilTheLogIsBackUnderItsRate() {
        let rate = RetentionService.logBytesPerSecond
        #expect(RetentionService.rest(after: .milliseconds(4), logBytes: rate) == .seconds(1))
        #expect(RetentionService.rest(after: .milliseconds(4), logBytes: rate / 4) == .milliseconds(250))
    }

    @Test func anAbsurdLogFigureRestsLongButDoesNotOverflow() {
        let rest = RetentionService.rest(after: .milliseconds(1), logBytes: .max)
        #expect(rest > .seconds(60))
    }
}
