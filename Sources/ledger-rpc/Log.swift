import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

struct Log: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record one event and wait until it is committed.",
        discussion: """
            For shell scripts: prints the event's id first, then returns only after ledgerd has \
            committed the event. A refused event (bad metadata, a field too long) prints the \
            daemon's reason and exits 1, and is not stored.

            When the event was sent but no answer came (--timeout passed, the connection broke), \
            it may still be stored: ledger-rpc says so and exits 3. Retry with the same --id and \
            the event is stored once, however many times it is sent.

            An event whose entity is a job or a clip given by UUID belongs to that job or clip \
            (its job_id or clip_id is set, as log_job_event and log_clip_event set them), so \
            `ledger-rpc query job` finds it.

            Example:
              JOB_ID=5f0c6a9e-3b1d-4c8e-9f2a-1d2e3f4a5b6c
              ledger-rpc log job_processing_failed job "$JOB_ID" --severity ERROR \
                  --metadata '{"reason":"timeout"}'
              ledger-rpc query job "$JOB_ID"
            """
    )

    /// The event was sent and may be stored, but no answer came.
    static let unconfirmed: Int32 = 3

    @Argument(help: "The event type, such as video_uploaded or job_processing_failed.")
    var eventType: String

    @Argument(help: "The entity type, such as video_asset, job or clip.")
    var entityType: String

    @Argument(help: "The entity's id.")
    var entityID: String

    @Option(name: .long, help: ArgumentHelp("Event data: a JSON object.", valueName: "json"))
    var metadata: String = "{}"

    @Option(name: .long, help: ArgumentHelp("INFO, WARN or ERROR.", valueName: "level"))
    var severity: String = "INFO"

    @Option(name: .customLong("job-id"), help: ArgumentHelp("The job this event belongs to.", valueName: "uuid"))
    var jobID: String?

    @Option(name: .customLong("clip-id"), help: ArgumentHelp("The clip this event belongs to.", valueName: "uuid"))
    var clipID: String?

    @Option(name: .customLong("worker-id"), help: ArgumentHelp("The worker that did the step.", valueName: "id"))
    var workerID: String?

    @Option(name: .long, help: ArgumentHelp("The event's id, to retry a log that did not answer and store it once (default: a new UUIDv7).", valueName: "uuid"))
    var id: String?

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard Severity(name: self.severity.uppercased()) != nil else {
            throw ValidationError("--severity \"\(self.severity)\" is not INFO, WARN or ERROR")
        }
        _ = try self.jobID.map { try parseUUID($0, option: "--job-id") }
        _ = try self.clipID.map { try parseUUID($0, option: "--clip-id") }
        _ = try self.id.map { try parseUUID($0, option: "--id") }
        if let problem = JSONObjectValidator.problem(in: self.metadata) {
            throw ValidationError("--metadata is not a JSON object: \(problem)")
        }
    }

    func run() async throws {
        let severity = Severity(name: self.severity.uppercased()) ?? .info
        var jobID = try self.jobID.map { try parseUUID($0, option: "--job-id") }
        var clipID = try self.clipID.map { try parseUUID($0, option: "--clip-id") }
        // As log_job_event and log_clip_event do: a job's or clip's own event carries its id.
        if self.entityType == "job", jobID == nil { jobID = UUID(uuidString: self.entityID) }
        if self.entityType == "clip", clipID == nil { clipID = UUID(uuidString: self.entityID) }
        var event = LedgerClient.makeEvent(
            eventType: self.eventType, entityType: self.entityType, entityID: self.entityID, metadata: self.metadata,
            severity: severity, workerID: self.workerID, jobID: jobID, clipID: clipID)
        if let id = try self.id.map({ try parseUUID($0, option: "--id") }) { event.id = id }
        // Before the wait, so a script that gives up still knows which id to retry with.
        FileHandle.standardOutput.write(Data((event.id.lowercaseText + "\n").utf8))
        do {
            try await self.connection.client().executeThenShutdown { try await $0.logAcknowledged(event) }
        } catch let error as LedgerClientError where error.code == .timeout || error.code == .connectionClosed {
            printError("\(error.message); the event may still be stored: retry with --id \(event.id.lowercaseText) to store it once")
            throw ExitCode(Self.unconfirmed)
        } catch let error as LedgerClientError {
            printError(error.message)
            throw ExitCode.failure
        }
    }
}

func parseUUID(_ text: String, option: String) throws -> UUID {
    guard let uuid = UUID(uuidString: text) else {
        throw ValidationError("\(option) \"\(text)\" is not a UUID (such as 5f0c6a9e-3b1d-4c8e-9f2a-1d2e3f4a5b6c)")
    }
    return uuid
}
