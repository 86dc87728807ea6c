import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

struct Log: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record one event and wait until it is committed.",
        discussion: """
            For shell scripts: the command returns only after ledgerd has committed the event, \
            and prints its id. A refused event (bad metadata, a field too long) prints the \
            daemon's reason and exits 1.

            Example:
              ledger-rpc log job_processing_failed job 5f0c... --severity ERROR --metadata '{"reason":"timeout"}'
            """
    )

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

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        guard let severity = Severity(name: self.severity) else {
            throw ValidationError("--severity \"\(self.severity)\" is not INFO, WARN or ERROR")
        }
        let jobID = try self.jobID.map { try parseUUID($0, option: "--job-id") }
        let clipID = try self.clipID.map { try parseUUID($0, option: "--clip-id") }
        if let problem = JSONObjectValidator.problem(in: self.metadata) {
            throw ValidationError("--metadata is not a JSON object: \(problem)")
        }
        let event = LedgerClient.makeEvent(
            eventType: self.eventType, entityType: self.entityType, entityID: self.entityID, metadata: self.metadata,
            severity: severity, workerID: self.workerID, jobID: jobID, clipID: clipID)
        try await self.connection.run { try await $0.logAcknowledged(event) }
        print(event.id.lowercaseText)
    }
}

func parseUUID(_ text: String, option: String) throws -> UUID {
    guard let uuid = UUID(uuidString: text) else { throw ValidationError("\(option) \"\(text)\" is not a UUID") }
    return uuid
}
