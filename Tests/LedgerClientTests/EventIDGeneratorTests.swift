import Foundation
import Testing

@testable import LedgerClient

@Suite struct EventIDGeneratorTests {
    @Test func idsAreVersion7AndNeverRepeat() {
        let generator = EventIDGenerator()
        var seen = Set<UUID>()
        for index in 0..<200_000 {
            let id = generator.next(unixMilliseconds: 1_764_000_000_000 + UInt64(index / 1_000))
            #expect(seen.insert(id).inserted, "id \(index) repeated")
            let bytes = id.uuid
            #expect(bytes.6 >> 4 == 7 && bytes.8 >> 6 == 0b10, "version 7, RFC 9562 variant")
        }
    }

    @Test func twoGeneratorsWithTheSameClockDiffer() {
        let first = EventIDGenerator()
        let second = EventIDGenerator()
        let a = (0..<1_000).map { _ in first.next(unixMilliseconds: 42) }
        let b = (0..<1_000).map { _ in second.next(unixMilliseconds: 42) }
        #expect(Set(a).isDisjoint(with: b))
    }

    @Test func concurrentCallersGetDistinctIDs() async {
        let generator = EventIDGenerator()
        let ids = await withTaskGroup(of: [UUID].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<10_000).map { _ in generator.next(unixMilliseconds: 7) } }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(ids).count == 80_000)
    }
}
