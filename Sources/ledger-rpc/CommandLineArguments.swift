import ArgumentParser

/// The command line as the parser should see it.
///
/// psql and journalctl take their connection and output options anywhere; swift-argument-parser
/// takes a subcommand's options only after its name. So options every command shares, given
/// before the subcommand (`ledger-rpc --socket X query recent`, `query --json recent`), are moved
/// to the end, where the subcommand reads them. Also, a negative number after an option that
/// takes a value stays that option's value (`--limit -5` is then refused for what it is).
struct CommandLineArguments {
    /// Options that every command takes, and whether each takes a value.
    static let shared: [String: Bool] = [
        "--socket": true, "--connect": true, "--cert": true, "--key": true, "--ca": true, "--server-name": true,
        "--timeout": true, "--json": false, "--wide": false,
    ]

    /// Options whose value may look like a negative number.
    static let numeric: Set<String> = ["--limit", "--timeout", "--max-events", "-n", "--lines"]

    var arguments: [String]
    /// The subcommands named, root first (`["query", "job"]`).
    var path: [String] = []
    /// A word where a subcommand was expected that names none, with the names that were possible.
    var unknownCommand: (word: String, candidates: [String])?

    init(_ raw: [String], root: any ParsableCommand.Type) {
        var kept: [String] = []
        var moved: [String] = []
        var command: any ParsableCommand.Type = root
        var index = 0
        while index < raw.count {
            let token = raw[index]
            index += 1
            if token == "--" {
                kept.append(contentsOf: raw[(index - 1)...])
                break
            }
            let subcommands = command.configuration.subcommands
            let name = String(token.split(separator: "=", maxSplits: 1).first ?? "")
            if !subcommands.isEmpty {
                if let takesValue = Self.shared[name] {
                    moved.append(token)
                    if takesValue, !token.contains("="), index < raw.count {
                        moved.append(raw[index])
                        index += 1
                    }
                    continue
                }
                if !token.hasPrefix("-") {
                    if let next = subcommands.first(where: { $0.configuration.commandName ?? Self.defaultName($0) == token }) {
                        command = next
                        self.path.append(token)
                    } else if self.unknownCommand == nil {
                        self.unknownCommand = (token, subcommands.map { $0.configuration.commandName ?? Self.defaultName($0) })
                    }
                }
                kept.append(token)
                continue
            }
            if Self.numeric.contains(token), index < raw.count, raw[index].first == "-", raw[index].dropFirst().first?.isNumber == true {
                kept.append("\(token)=\(raw[index])")
                index += 1
                continue
            }
            kept.append(token)
        }
        self.arguments = kept + moved
    }

    /// swift-argument-parser's own default: the type's name, lowercased with dashes.
    static func defaultName(_ type: any ParsableCommand.Type) -> String {
        var name = ""
        for character in String(describing: type) {
            if character.isUppercase, !name.isEmpty { name.append("-") }
            name.append(character.lowercased())
        }
        return name
    }

    /// The closest name, when one is near enough to be a typo (`querry` for `query`).
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, Self.distance(word.lowercased(), $0)) }.filter { $0.1 <= max(1, $0.0.count / 3) }
        return scored.min { $0.1 < $1.1 }?.0
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
