import LedgerProtocol

/// A Bloom filter of the ids one segment's events name, so that a lookup by id skips the segments
/// that cannot hold it (migration 8).
///
/// An id is one key whatever it names: a job's id is its events' job and the entity of some of
/// them, a video's id an entity and the link of its jobs. An id of another role with the same text
/// costs a seek, never a missed event, and a segment's filter holds each of its ids once.
///
/// Blocked: a key sets `probes` bits within one 512-bit block, so a test reads one cache line.
/// Ten bits a key gives about one false "may hold" in a hundred: a lookup on a ledger of two hundred
/// segments seeks the few that hold its id and two or three more. The hash is fixed (FNV-1a, then
/// SplitMix64's finalizer) because filters are stored: a filter written by one run is read by the next.
struct SQLiteSegmentFilter: Sendable, Equatable {
    static let bitsPerKey = 10
    static let probes = 7
    static let wordsPerBlock = 8

    /// The blocks, `wordsPerBlock` words each.
    private(set) var words: [UInt64]

    var blockCount: Int { self.words.count / Self.wordsPerBlock }

    /// Bytes held in memory.
    var byteCount: Int { self.words.count * 8 }

    init(keys: some Collection<String>) {
        self.init(hashes: Set(keys.map(Self.hash)))
    }

    /// A filter of the ids with these hashes (`hash`), each once: what a segment's reader keeps of
    /// its ids, eight bytes each however long an id is.
    init(hashes: Set<UInt64>) {
        let blocks = max(1, (hashes.count * Self.bitsPerKey + 511) / 512)
        self.words = Array(repeating: 0, count: blocks * Self.wordsPerBlock)
        for hash in hashes { self.insert(hash: hash) }
    }

    /// A stored filter: its words, little-endian; nil for bytes no filter was written as.
    init?(bytes: some Collection<UInt8>) {
        guard !bytes.isEmpty, bytes.count % (Self.wordsPerBlock * 8) == 0 else { return nil }
        var words: [UInt64] = []
        words.reserveCapacity(bytes.count / 8)
        var word: UInt64 = 0
        for (offset, byte) in bytes.enumerated() {
            word |= UInt64(byte) << (UInt64(offset % 8) * 8)
            if offset % 8 == 7 {
                words.append(word)
                word = 0
            }
        }
        self.words = words
    }

    /// The words, little-endian, as the filter is stored.
    var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(self.words.count * 8)
        for word in self.words {
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return bytes
    }

    private mutating func insert(hash: UInt64) {
        var probe = self.probe(hash: hash)
        for _ in 0..<Self.probes {
            let (word, bit) = probe.next()
            self.words[word] |= bit
        }
    }

    /// False only when no key like this one was inserted.
    func mayContain(_ key: String) -> Bool {
        var probe = self.probe(hash: Self.hash(key))
        for _ in 0..<Self.probes {
            let (word, bit) = probe.next()
            if self.words[word] & bit == 0 { return false }
        }
        return true
    }

    /// The key's block, and a source of the bits it sets there, nine bits of a second hash each.
    private struct Probe {
        let block: Int
        var bits: UInt64

        mutating func next() -> (word: Int, bit: UInt64) {
            let bit = Int(self.bits & 511)
            self.bits >>= 9
            return (self.block + bit >> 6, 1 << UInt64(bit & 63))
        }
    }

    private func probe(hash: UInt64) -> Probe {
        let block = Int(truncatingIfNeeded: hash.multipliedFullWidth(by: UInt64(self.blockCount)).high) * Self.wordsPerBlock
        return Probe(block: block, bits: Self.mix(hash ^ 0x9E37_79B9_7F4A_7C15))
    }

    /// FNV-1a (64-bit) of the id's UTF-8 bytes, then SplitMix64's finalizer.
    static func hash(_ key: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return Self.mix(hash)
    }

    /// SplitMix64's finalizer (`SplitMix64.next` mixes its state after one increment): every bit
    /// of the input moves about half the output's.
    private static func mix(_ value: UInt64) -> UInt64 {
        var generator = SplitMix64(state: value &- SplitMix64.increment)
        return generator.next()
    }
}
