import Foundation

extension UUID {
    /// A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then random bits.
    ///
    /// Time-ordered ids keep the primary key index append-mostly. The caller passes
    /// the time so this module never reads a clock.
    public static func ledgerV7(unixMilliseconds: UInt64) -> UUID {
        var generator = SystemRandomNumberGenerator()
        return Self.ledgerV7(unixMilliseconds: unixMilliseconds, using: &generator)
    }

    public static func ledgerV7<Generator: RandomNumberGenerator>(
        unixMilliseconds: UInt64,
        using generator: inout Generator
    ) -> UUID {
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        let ms = unixMilliseconds
        return UUID(
            uuid: (
                UInt8(truncatingIfNeeded: ms >> 40), UInt8(truncatingIfNeeded: ms >> 32),
                UInt8(truncatingIfNeeded: ms >> 24), UInt8(truncatingIfNeeded: ms >> 16),
                UInt8(truncatingIfNeeded: ms >> 8), UInt8(truncatingIfNeeded: ms),
                0x70 | UInt8(truncatingIfNeeded: high >> 60), UInt8(truncatingIfNeeded: high >> 52),
                0x80 | UInt8(truncatingIfNeeded: high >> 46) & 0x3F, UInt8(truncatingIfNeeded: high >> 38),
                UInt8(truncatingIfNeeded: low >> 56), UInt8(truncatingIfNeeded: low >> 48),
                UInt8(truncatingIfNeeded: low >> 40), UInt8(truncatingIfNeeded: low >> 32),
                UInt8(truncatingIfNeeded: low >> 24), UInt8(truncatingIfNeeded: low >> 16)
            ))
    }
}
