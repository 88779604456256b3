import ArgumentParser
import Engine
import Foundation

/// The `hongbao` command: the dashboard by default, operator subcommands otherwise.
@main
struct Hongbao: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hongbao",
        abstract: "Red packets, a ledger and a three-copy message queue that never loses money.",
        subcommands: [PreviewCommand.self]
    )

    /// Runs the command and turns any error into one line on stderr and an exit code (`UserError`).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if let cliError = error as? any CustomUserMessage {
                FileHandle.standardError.write(Data("hongbao: \(cliError.userMessage)\n".utf8))
                Foundation.exit(cliError.exitCode)
            }
            exit(withError: error)
        }
    }
}
