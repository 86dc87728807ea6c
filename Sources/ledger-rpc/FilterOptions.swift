import ArgumentParser
import Foundation
import LedgerProtocol

/// The filter every listing takes, field for field as the protocol carries it, so that `query`,
/// `tail` and their subcommands narrow the same way.
struct FilterOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Only events of this type, such as job_processing_failed.", valueName: "type"))
    var type: String?

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Only events about this entity: its type and id, as in --entity clip c-1.", valueName: "type id"))
    var entity: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only this job's events, its clips' included.", valueName: "uuid"))
    var job: String?

    @Option(name: .long, help: ArgumentHelp("Only this clip's events.", valueName: "uuid"))
    var clip: String?

    @Option(name: .long, help: ArgumentHelp("Only events of these severities: INFO, WARN or ERROR, several as WARN,ERROR or by repeating the option.", valueName: "severity"))
    var severity: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only events at least this serious: --min-severity WARN is WARN and ERROR.", valueName: "severity"))
    var minSeverity: String?

    @Option(name: .long, help: ArgumentHelp("Only events this worker logged.", valueName: "id"))
    var worker: String?

    @Option(name: .long, help: ArgumentHelp("Only events at or after this time: 7d, 24h, today, 2026-11-01, \"2026-11-01 08:00\", 2026-11-01T08:00:00Z, @SECONDS.", valueName: "when"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Only events before this time, in the same forms as --since.", valueName: "when"))
    var until: String?

    func validate() throws {
        _ = try self.filter()
    }

    /// The filter the options name, or a usage error naming the option that is wrong.
    func filter() throws -> EventFilter {
        guard self.entity.isEmpty || self.entity.count == 2 else { throw ValidationError("--entity takes TYPE and ID, as in --entity clip c-1") }
        var filter = EventFilter()
        filter.eventType = self.type
        if self.entity.count == 2 {
            filter.entityType = self.entity[0]
            filter.entityID = self.entity[1]
        }
        filter.jobID = try self.job.map { try parseUUID($0, option: "--job") }
        filter.clipID = try self.clip.map { try parseUUID($0, option: "--clip") }
        filter.severities = try self.severities()
        filter.workerID = self.worker
        filter.since = try self.since.map { try parseTime($0, option: "--since") }
        filter.until = try self.until.map { try parseTime($0, option: "--until") }
        if let since = filter.since, let until = filter.until, until < since {
            throw ValidationError("--until \(until.iso8601) is before --since \(since.iso8601)")
        }
        return filter
    }

    /// --severity's names and --min-severity's floor, which together keep what both admit.
    private func severities() throws -> SeveritySet? {
        var admitted: SeveritySet?
        let names = self.severity.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
        if !names.isEmpty {
            admitted = SeveritySet(try names.map { name in
                guard let parsed = Severity(name: name.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--severity \"\(name)\" is not INFO, WARN or ERROR")
                }
                return parsed
            })
        }
        if let minimum = self.minSeverity {
            guard let floor = Severity(name: minimum.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--min-severity \"\(minimum)\" is not INFO, WARN or ERROR")
            }
            let combined = (admitted ?? .all).intersection(.atLeast(floor))
            if combined.isEmpty {
                throw ValidationError("--severity \(admitted?.description ?? "") and --min-severity \(floor.name) admit no severity at all")
            }
            admitted = combined
        }
        return admitted
    }

    /// The options' filter with what a subcommand's own argument names; giving the same field both
    /// ways is refused rather than one silently winning.
    func filter(with fixed: EventFilter, named: String) throws -> EventFilter {
        var filter = try self.filter()
        func take<Value: Equatable>(_ field: WritableKeyPath<EventFilter, Value?>, option: String) throws {
            guard let value = fixed[keyPath: field] else { return }
            if let given = filter[keyPath: field], given != value {
                throw ValidationError("\(option) and \(named) name different events; give one of them")
            }
            filter[keyPath: field] = value
        }
        try take(\.eventType, option: "--type")
        try take(\.entityType, option: "--entity")
        try take(\.entityID, option: "--entity")
        try take(\.jobID, option: "--job")
        try take(\.clipID, option: "--clip")
        try take(\.severities, option: "--severity")
        try take(\.workerID, option: "--worker")
        return filter
    }
}
