import ArgumentParser
import Testing

@testable import ledger_rpc

/// Every command's help reads as prose: no stray escapes from the source's line continuations.
@Suite struct HelpTextTests {
    static func commands(_ root: any ParsableCommand.Type) -> [[any ParsableCommand.Type]] {
        [[root]] + root.configuration.subcommands.flatMap { child in Self.commands(child).map { [root] + $0 } }
    }

    @Test func noHelpTextShowsABackslash() {
        let paths = Self.commands(LedgerRPC.self)
        #expect(paths.count > 10)
        for path in paths {
            let help = LedgerRPC.helpMessage(for: path.last!, columns: 100)
            #expect(!help.contains("\\"), "\(path.map { "\($0)" }.joined(separator: " ")): \(help)")
        }
    }
}
