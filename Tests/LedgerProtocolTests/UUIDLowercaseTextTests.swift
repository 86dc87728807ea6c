import Foundation
import LedgerProtocol
import Testing

@Suite struct UUIDLowercaseTextTests {
    @Test func matchesFoundationsFormLowercased() {
        var random = SplitMix64(state: 42)
        for _ in 0..<1_000 {
            let id = UUID.ledgerV7(unixMilliseconds: random.next() >> 16, using: &random)
            #expect(id.lowercaseText == id.uuidString.lowercased())
            id.withLowercaseText { bytes in
                #expect(String(decoding: bytes, as: UTF8.self) == id.uuidString.lowercased())
            }
        }
    }

    @Test func extremes() {
        let zero = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        #expect(zero.lowercaseText == "00000000-0000-0000-0000-000000000000")
        let ones = UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255))
        #expect(ones.lowercaseText == "ffffffff-ffff-ffff-ffff-ffffffffffff")
        #expect(UUID(uuidString: "01234567-89AB-CDEF-0123-456789ABCDEF")!.lowercaseText == "01234567-89ab-cdef-0123-456789abcdef")
    }
}

@Suite struct UUIDTextParsingTests {
    @Test func parsesWhatFoundationParsesAndRefusesTheRest() {
        for _ in 0..<200 {
            let uuid = UUID()
            #expect(UUID(text: uuid.lowercaseText) == uuid)
            #expect(UUID(text: uuid.uuidString) == uuid)
        }
        for bad in ["", "not-a-uuid", "01a24e23-c8a5-72f0-90e1-e66e7ce4d3c", "01a24e23-c8a5-72f0-90e1-e66e7ce4d3c8a", "01a24e23xc8a5-72f0-90e1-e66e7ce4d3c8",
                    "01a24e23-c8a5-72f0-90e1-e66e7ce4d3cg", "01a24e2-3c8a5-72f0-90e1-e66e7ce4d3c8"] {
            #expect(UUID(text: bad) == nil, "\(bad)")
            #expect(UUID(uuidString: bad) == nil, "Foundation agrees that \(bad) is no UUID")
        }
    }
}
