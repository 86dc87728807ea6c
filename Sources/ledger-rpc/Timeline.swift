import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

struct Timeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An entity's whole story, oldest first: its own events and those of the jobs and clips linked to it.",
        discussion: """
            For a video_asset: its events, the jobs whose job_created metadata names it \
            ("video_id": ID, as the seed's job service logs it), every event of those jobs and \
            of their clips. For another entity type T the link is "T_id". For a job: every \
            event naming the job, its clips' included; for a clip, every event naming the clip. \
            query entity lists the entity's own events alone.
            """)

    @Argument(help: "The entity type, such as video_asset, job or clip.")
    var entityType: String

    @Argument(help: "The entity's id.")
    var entityID: String

    @OptionGroup var list: ListOptions

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let request = TimelineRequest(
            entityType: self.entityType, entityID: self.entityID, limit: UInt32(self.list.limit), after: self.list.after.flatMap(EventCursor.init(token:)))
        let result = try await self.connection.run { try await $0.timeline(request) }
        self.list.print(result, total: nil)
    }
}
