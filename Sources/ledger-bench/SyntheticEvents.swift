import Foundation
import LedgerProtocol

/// Events shaped like the orchestrator's: each job's timeline (upload, creation, start,
/// completion or failure, two clips), then the next job, with metadata of a chosen size.
///
/// Ids are UUIDv7 with their random bits from SplitMix64, so a benchmark spends its time in
/// the daemon rather than in the system's random number generator.
struct SyntheticEvents {
    let metadata: String
    /// The metadata after its opening brace, for `job_created`'s, which names the job's type and
    /// its video first, as the seed's upload and job services log them.
    let metadataFields: Substring
    let workerID: String
    private var counter: UInt64 = 0
    private var random: SplitMix64
    private var job = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    private var jobText = ""
    private var step = 0

    init(payloadBytes: Int, workerID: String) {
        self.metadata = Self.metadata(bytes: payloadBytes)
        self.metadataFields = self.metadata.dropFirst()
        self.workerID = workerID
        self.random = SplitMix64(state: UInt64.random(in: 0...UInt64.max))
    }

    /// A JSON object of about `bytes` bytes, like the upload and job metadata the orchestrator logs.
    static func metadata(bytes: Int) -> String {
        let base = #"{"bucket":"uploads","duration_ms":48213,"pad":""}"#
        let pad = max(0, bytes - base.utf8.count)
        return #"{"bucket":"uploads","duration_ms":48213,"pad":""# + String(repeating: "x", count: pad) + #""}"#
    }

    mutating func next(at time: LedgerTimestamp) -> LedgerEvent {
        if self.step == 0 {
            self.job = self.randomID()
            self.jobText = self.job.lowercaseText
        }
        defer { self.step = (self.step + 1) % 6 }
        self.counter += 1
        let id = UUID.ledgerV7(unixMilliseconds: UInt64(max(0, time.rawValue / 1_000)), using: &self.random)
        let failed = self.counter % 300 < 6
        switch self.step {
        case 0:
            return LedgerEvent(
                id: id, timestamp: time, eventType: "video_uploaded", entityType: "video_asset", entityID: self.jobText,
                metadata: self.metadata, workerID: self.workerID)
        case 1, 2, 3:
            let type = ["job_created", "job_processing_started", failed ? "job_processing_failed" : "job_processing_completed"][self.step - 1]
            return LedgerEvent(
                id: id, timestamp: time, eventType: type, entityType: "job", entityID: self.jobText,
                metadata: self.step == 1 ? #"{"job_type":"clip_extraction","video_id":""# + self.jobText + "\"," + self.metadataFields : self.metadata,
                severity: failed && self.step == 3 ? .error : .info, workerID: self.workerID, jobID: self.job)
        default:
            let clip = self.randomID()
            return LedgerEvent(
                id: id, timestamp: time, eventType: "clip_created", entityType: "clip", entityID: clip.lowercaseText,
                metadata: self.metadata, workerID: self.workerID, jobID: self.job, clipID: clip)
        }
    }

    /// A version 4 UUID from a seeded SplitMix64: Foundation's UUID() reads /dev/urandom each time.
    private mutating func randomID() -> UUID {
        let high = self.random.next()
        let low = self.random.next()
        return UUID(
            uuid: (
                UInt8(truncatingIfNeeded: high >> 56), UInt8(truncatingIfNeeded: high >> 48),
                UInt8(truncatingIfNeeded: high >> 40), UInt8(truncatingIfNeeded: high >> 32),
                UInt8(truncatingIfNeeded: high >> 24), UInt8(truncatingIfNeeded: high >> 16),
                0x40 | UInt8(truncatingIfNeeded: high >> 8) & 0x0F, UInt8(truncatingIfNeeded: high),
                0x80 | UInt8(truncatingIfNeeded: low >> 56) & 0x3F, UInt8(truncatingIfNeeded: low >> 48),
                UInt8(truncatingIfNeeded: low >> 40), UInt8(truncatingIfNeeded: low >> 32),
                UInt8(truncatingIfNeeded: low >> 24), UInt8(truncatingIfNeeded: low >> 16),
                UInt8(truncatingIfNeeded: low >> 8), UInt8(truncatingIfNeeded: low)
            ))
    }
}

/// A monotonic clock in nanoseconds, for latencies.
func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

