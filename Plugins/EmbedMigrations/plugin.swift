import Foundation
import PackagePlugin

/// Compiles a target's `Migrations/<backend>/NNNN_name.sql` files into its source, so that an
/// installed binary carries its schema with it and finds it wherever it is copied.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let migrations = target.directoryURL.appending(path: "Migrations")
        let backends = ["sqlite", "postgres"]
        var inputs: [URL] = []
        for backend in backends {
            let directory = migrations.appending(path: backend)
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }
            inputs += names.sorted().map { directory.appending(path: $0) }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding the migrations of \(target.name)",
                executable: try context.tool(named: "embed-migrations").url,
                arguments: [output.path] + backends.map { "\($0)=\(migrations.appending(path: $0).path)" },
                inputFiles: inputs,
                outputFiles: [output])
        ]
    }
}
