import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol
import Synchronization

/// Set by the first SIGINT or SIGTERM: the run ends after the video at hand, so the clients
/// still flush and the drop summary still prints.
private let stopRequested = Atomic<Bool>(false)

@main
struct LedgerDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger-demo",
        abstract: "A simulated video orchestrator that logs its steps to ledgerd.",
        discussion: """
            The upload service, the job service and the workers each hold their own thin \
            client, as separate processes would. For every video: video_uploaded, job_created, \
            job_processing_started, then job_processing_completed followed by clip_created per \
            clip, or job_processing_failed with severity ERROR for every --fail-every'th job.

            Without a daemon the orchestrator runs exactly the same: the ledger never gets in \
            its way.

            SIGINT or SIGTERM ends the run after the video at hand, as if --videos had said so; \
            a second one ends it at once.
            """,
        version: LedgerDefaults.version
    )

    @Option(name: .long, help: "How many videos to upload.")
    var videos: Int = 3

    @Option(name: .long, help: "Clips cut from each successful job.")
    var clips: Int = 2

    @Option(name: .long, help: "Fail every Nth job (0: none fail).")
    var failEvery: Int = 3

    @Option(name: .long, help: ArgumentHelp("Simulated work between steps, in milliseconds.", valueName: "ms"))
    var stepDelayMs: Int = 2

    @Flag(
        name: .long,
        help: "At exit, say on stderr how many events the clients dropped and how many of those they could not yet report to ledgerd as gaps.")
    var printDrops = false

    @Option(name: .long, help: ArgumentHelp("The daemon's Unix socket. [env: LEDGER_SOCKET]", valueName: "path"))
    var socket: String?

    func validate() throws {
        guard (1...10_000).contains(self.videos) else { throw ValidationError("--videos must be between 1 and 10000") }
        guard (0...100).contains(self.clips) else { throw ValidationError("--clips must be between 0 and 100") }
        guard self.failEvery >= 0 else { throw ValidationError("--fail-every must be 0 or more") }
        guard (0...10_000).contains(self.stepDelayMs) else { throw ValidationError("--step-delay-ms must be between 0 and 10000") }
    }

    func run() async throws {
        var configuration = LedgerClientConfiguration.default()
        if let socket = self.socket { configuration.socketPath = socket }
        // One client per service, as in the orchestrator, each named in the gap records it reports.
        func client(_ service: String) -> LedgerClient {
            var configuration = configuration
            configuration.clientName = "ledger-demo/\(service)"
            return LedgerClient(configuration: configuration)
        }
        let uploads = client("uploads")
        let jobs = client("jobs")
        let worker = client("worker")
        let workerID = "worker-\(ProcessInfo.processInfo.processIdentifier)"
        let stopSignals = Self.stopOnSignals()
        defer { stopSignals.forEach { $0.cancel() } }

        for index in 1...self.videos {
            if stopRequested.load(ordering: .relaxed) { break }
            let videoID = UUID().lowercaseText
            await self.step()
            uploads.logEvent(
                eventType: "video_uploaded", entityType: "video_asset", entityID: videoID,
                metadata: "{\"filename\":\"video-\(index).mp4\",\"size_bytes\":\(1_000_000 * index)}")
            print("uploaded video \(videoID)")

            let jobID = UUID()
            await self.step()
            jobs.logJobEvent(jobID: jobID, eventType: "job_created", metadata: "{\"video_id\":\"\(videoID)\",\"job_type\":\"clip_extraction\"}")
            await self.step()
            worker.logJobEvent(jobID: jobID, eventType: "job_processing_started", workerID: workerID)

            if self.failEvery > 0, index % self.failEvery == 0 {
                await self.step()
                worker.logJobEvent(
                    jobID: jobID, eventType: "job_processing_failed", metadata: "{\"error\":\"transcoder exited with status 1\"}",
                    severity: .error, workerID: workerID)
                print("job \(jobID.lowercaseText) failed")
                continue
            }
            await self.step()
            worker.logJobEvent(
                jobID: jobID, eventType: "job_processing_completed", metadata: "{\"clips\":\(self.clips)}", workerID: workerID)
            for clip in stride(from: 1, through: self.clips, by: 1) {
                await self.step()
                worker.logClipEvent(
                    clipID: UUID(), eventType: "clip_created", metadata: "{\"index\":\(clip),\"duration_ms\":\(15_000 * clip)}",
                    jobID: jobID, workerID: workerID)
            }
            print("job \(jobID.lowercaseText) completed with \(self.clips) clips")
        }
        // Give the clients a moment to deliver before the process exits; without a daemon this returns at once.
        var dropped = 0
        var unreported = 0
        for client in [uploads, jobs, worker] {
            _ = await client.flush(timeout: .seconds(2))
            await client.shutdown()
            dropped += client.statistics.dropped + client.statistics.rejected
            unreported += client.statistics.dropsUnreported
        }
        if self.printDrops {
            FileHandle.standardError.write(
                Data("ledger-demo: dropped \(dropped) events; \(unreported) of them not yet reported to ledgerd as gaps\n".utf8))
        }
    }

    /// The first signal asks the loop to stop; the default action comes back for the second.
    private static func stopOnSignals() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                stopRequested.store(true, ordering: .relaxed)
                signal(number, SIG_DFL)
            }
            source.resume()
            return source
        }
    }

    private func step() async {
        if self.stepDelayMs > 0 {
            try? await Task.sleep(for: .milliseconds(self.stepDelayMs))
        }
    }
}
