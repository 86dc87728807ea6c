import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

/// `ledger-rpc retention`: what leaves the ledger, before it goes and after.
struct Retention: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the retention policy, what each rule would remove now, and what the passes removed.",
        discussion: """
            ledgerd keeps everything unless started with --retain. For each rule this shows its \
            cutoff (events timestamped before it are past the rule's age), how many stored events \
            are past it now (what the next pass removes; counted up to a million, so that this \
            stays cheap on a large store, and "not counted" when counting ran past the daemon's \
            query budget, as on PostgreSQL while a purge's deleted rows wait for vacuum), how \
            many the last pass removed and how many since the daemon started. Kinds of event without a rule are kept forever.

            Every removal is recorded in the ledger itself before it starts, as a ledger_retention \
            event naming the rule, the count and the time range: `ledger-rpc query type \
            ledger_retention` lists them.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let status = try await self.connection.run { try await $0.retention() }
        if self.json {
            print(Self.json(status))
            return
        }
        print(TerminalText.escaped("policy: \(status.policy)" + (status.policy == "forever" ? " (nothing is removed)" : "; kinds without a rule: forever")))
        if !status.rules.isEmpty {
            let rows = status.rules.map { rule in
                [
                    rule.rule, rule.before?.iso8601 ?? "-", Self.pending(rule), String(rule.lastRemoved),
                    String(rule.removedSinceStart),
                ]
            }
            print(EventTable.table(["RULE", "BEFORE", "PENDING", "LAST_PASS", "SINCE_START"], rows.map { $0.map(TerminalText.escaped) }), terminator: "")
        }
        if let started = status.lastPassStarted {
            let finished = status.lastPassFinished.map { "finished \($0.iso8601)" } ?? "still running"
            print(TerminalText.escaped("last pass: started \(started.iso8601), \(finished)" + (status.note.isEmpty ? "" : "; \(status.note)")))
        } else if status.policy != "forever" {
            print("last pass: none yet")
        }
        if let next = status.nextPass {
            print("next pass: \(next.iso8601)")
        }
    }

    /// A rule's pending count as the table shows it.
    static func pending(_ rule: RetentionStatus.Rule) -> String {
        if rule.before == nil { return "-" }
        switch rule.pendingEvents {
        case .exactly(let count): return String(count)
        case .moreThan(let cap): return "over \(cap)"
        case .notCounted: return "not counted"
        }
    }

    static func json(_ status: RetentionStatus) -> String {
        func time(_ timestamp: LedgerTimestamp?) -> String { timestamp.map { JSONText.quote($0.iso8601) } ?? "null" }
        let rules = status.rules.map { rule in
            let (pending, isMore): (String, Bool) =
                switch rule.pendingEvents {
                case .exactly(let count): (String(count), false)
                case .moreThan(let cap): (String(cap), true)
                case .notCounted: ("null", false)
                }
            return "{\"rule\":\(JSONText.quote(rule.rule)),\"before\":\(time(rule.before)),"
                + "\"pending\":\(pending),\"pending_is_more\":\(isMore),"
                + "\"last_pass_removed\":\(rule.lastRemoved),\"removed_since_start\":\(rule.removedSinceStart)}"
        }
        return "{\"policy\":\(JSONText.quote(status.policy)),\"rules\":[\(rules.joined(separator: ","))],"
            + "\"last_pass_started\":\(time(status.lastPassStarted)),\"last_pass_finished\":\(time(status.lastPassFinished)),"
            + "\"next_pass\":\(time(status.nextPass)),\"note\":\(status.note.isEmpty ? "null" : JSONText.quote(status.note))}"
    }
}
