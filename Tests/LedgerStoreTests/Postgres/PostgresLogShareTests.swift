import Testing

@testable import LedgerStore

/// What a retention slice wrote to the log, told apart from what the rest of the server wrote.
@Suite struct PostgresLogShareTests {
    let start = ContinuousClock.now

    @Test func theFirstSliceCountsAllTheLogGrewBy() {
        var share = PostgresLogShare()
        #expect(share.slice(from: 1_000, at: self.start, to: 6_000, at: self.start + .milliseconds(5)) == 5_000)
    }

    @Test func whatTheServerWroteAtItsRateBetweenSlicesIsNotTheSlices() {
        var share = PostgresLogShare()
        _ = share.slice(from: 0, at: self.start, to: 1_000, at: self.start + .milliseconds(10))
        // 10,000 bytes over the second between the slices: 10,000 a second, so 1,000 of the
        // 5,000 the log grew by over the next slice's tenth of a second are the others'.
        let own = share.slice(from: 11_000, at: self.start + .milliseconds(1_010), to: 16_000, at: self.start + .milliseconds(1_110))
        #expect(own == 4_000)
    }

    @Test func aServerBusierThanTheSliceLeavesItNothing() {
        var share = PostgresLogShare()
        _ = share.slice(from: 0, at: self.start, to: 0, at: self.start + .milliseconds(1))
        let own = share.slice(from: 1_000_000, at: self.start + .milliseconds(11), to: 1_000_500, at: self.start + .milliseconds(12))
        #expect(own == 0)
    }

    @Test func aPositionThatDoesNotAdvanceCountsNothing() {
        var share = PostgresLogShare()
        #expect(share.slice(from: 9_000, at: self.start, to: 8_000, at: self.start + .milliseconds(1)) == 0)
        #expect(share.slice(from: 7_000, at: self.start + .milliseconds(2), to: 7_500, at: self.start + .milliseconds(3)) == 500)
    }
}
