import Glibc
import LedgerProtocol

extension LedgerTimestamp {
    /// The wall clock in the protocol's microseconds, read from the vDSO (no system call), so it may
    /// sit on a log call's drop path. Here rather than in LedgerProtocol, which reads no clock.
    public static func now() -> LedgerTimestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return LedgerTimestamp(rawValue: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1_000)
    }
}
