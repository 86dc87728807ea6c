import Foundation

/// `embed-migrations OUTPUT BACKEND=DIRECTORY...`: writes a Swift file holding every `.sql` file of
/// each directory, by backend and file name, for `MigrationCatalog.embedded(backend:)`. The files'
/// names are checked there, at start, as a directory's would be.
@main
struct EmbedMigrations {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let output = arguments.first, arguments.count > 1 else {
            FileHandle.standardError.write(Data("usage: embed-migrations OUTPUT BACKEND=DIRECTORY...\n".utf8))
            exit(2)
        }
        var text = "// Made at build time from Migrations/ by the EmbedMigrations plugin; edit the .sql files instead.\n\n"
        text += "extension MigrationCatalog {\n    static let embeddedFiles: [String: [String: String]] = [\n"
        for pair in arguments.dropFirst() {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw Failure(description: "'\(pair)' is not BACKEND=DIRECTORY") }
            let names = try FileManager.default.contentsOfDirectory(atPath: parts[1]).filter { $0.hasSuffix(".sql") }.sorted()
            text += "        \(Self.literal(parts[0])): [\n"
            for name in names {
                let sql = try String(contentsOfFile: (parts[1] as NSString).appendingPathComponent(name), encoding: .utf8)
                text += "            \(Self.literal(name)): \(Self.literal(sql)),\n"
            }
            text += names.isEmpty ? "            :\n        ],\n" : "        ],\n"
        }
        text += "    ]\n}\n"
        try text.write(toFile: output, atomically: true, encoding: .utf8)
    }

    /// A Swift string literal of `text`, escaped so that nothing in it is read as code.
    static func literal(_ text: String) -> String {
        var escaped = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: escaped += "\\u{\(String(scalar.value, radix: 16))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }
}
