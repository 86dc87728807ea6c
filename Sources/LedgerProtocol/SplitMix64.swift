/// Steele, Lea and Flood's SplitMix64: one multiply-xorshift mix of a counter.
///
/// A bijection of its state, so a run from one seed never repeats a value: ids drawn from it
/// are distinct without a system call per draw.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15
    public var state: UInt64

    public init(state: UInt64) {
        self.state = state
    }

    public mutating func next() -> UInt64 {
        self.state &+= Self.increment
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
