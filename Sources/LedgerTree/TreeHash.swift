import Crypto

/// A SHA-256 value in the ledger's Merkle tree: a leaf's hash, a node's, or a root.
///
/// Held inline rather than as an array, so that hashing millions of leaves allocates nothing per hash.
public struct TreeHash: Sendable, Hashable {
    public static let byteCount = 32

    private var words: (UInt64, UInt64, UInt64, UInt64)

    /// The hash of a tree with no leaves: SHA-256 of nothing (RFC 9162, 2.1.1).
    public static let empty = TreeHash(SHA256.hash(data: [UInt8]()))

    /// Nil unless `bytes` holds exactly 32 bytes.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.byteCount else { return nil }
        self.words = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &self.words) { $0.copyMemory(from: bytes) }
    }

    /// Nil unless `bytes` holds exactly 32 bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        self.words = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &self.words) { target in
            for (offset, byte) in bytes.enumerated() { target[offset] = byte }
        }
    }

    init(_ digest: SHA256.Digest) {
        self.words = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &self.words) { target in
            digest.withUnsafeBytes { target.copyMemory(from: $0) }
        }
    }

    /// The 32 bytes, in order.
    public var bytes: [UInt8] {
        Swift.withUnsafeBytes(of: self.words) { Array($0) }
    }

    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try Swift.withUnsafeBytes(of: self.words, body)
    }

    /// Lowercase hexadecimal, as `ledger-rpc` prints it.
    public var hex: String { HexText.text(self.bytes) }

    /// Nil unless `hex` is 64 hexadecimal digits.
    public init?(hex: some StringProtocol) {
        guard let bytes = HexText.bytes(hex), let hash = TreeHash(bytes: bytes) else { return nil }
        self = hash
    }

    public static func == (lhs: TreeHash, rhs: TreeHash) -> Bool {
        lhs.words == rhs.words
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.words.0)
        hasher.combine(self.words.1)
        hasher.combine(self.words.2)
        hasher.combine(self.words.3)
    }
}

extension TreeHash: CustomStringConvertible {
    public var description: String { self.hex }
}

/// Hexadecimal text and bytes, for hashes, keys and signatures on a command line or in JSON.
public enum HexText {
    public static func bytes(_ text: some StringProtocol) -> [UInt8]? {
        var text = String(text)
        return text.withUTF8 { utf8 -> [UInt8]? in
            guard utf8.count % 2 == 0 else { return nil }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(utf8.count / 2)
            var index = 0
            while index < utf8.count {
                guard let high = Self.value(utf8[index]), let low = Self.value(utf8[index + 1]) else { return nil }
                bytes.append(high << 4 | low)
                index += 2
            }
            return bytes
        }
    }

    public static func text(_ bytes: some Sequence<UInt8>) -> String {
        Self.text(Array(bytes))
    }

    /// Written straight into the string's storage: a commit's leaf records travel to PostgreSQL as
    /// hex, a hundred kilobytes at a time, on the writer's thread.
    public static func text(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { input in
            String(unsafeUninitializedCapacity: input.count * 2) { output in
                for (index, byte) in input.enumerated() {
                    output[2 * index] = Self.digits[Int(byte >> 4)]
                    output[2 * index + 1] = Self.digits[Int(byte & 0x0F)]
                }
                return input.count * 2
            }
        }
    }

    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
