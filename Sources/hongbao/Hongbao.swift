import ArgumentParser
import Engine
import Foundation

/// The `hongbao` command: the dashboard by default, operator subcommands otherwise.
@main
struct Hongbao: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hongbao",
        abstract: "Red packets, a ledger and a three-copy message queue that never loses money.",
        subcommands: [
            DashboardRunCommand.self, AccountCommand.self, SendCommand.self, GrabCommand.self, OpenCommand.self, PacketCommand.self,
            SeedDemoCommand.self, AuditCommand.self, SimulateCommand.self, BenchCommand.self, QueueCommand.self,
        ],
        defaultSubcommand: DashboardRunCommand.self
    )

    /// Runs the command and turns any error into one line on stderr and an exit code (`UserError`).
    static func main() async {
        do {
            try rejectNegativeAmounts(Array(CommandLine.arguments.dropFirst()))
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

    /// No option of ours starts with a digit, so `-1` or `-0.5` can only be a negative amount: say so in one
    /// line rather than let the parser call it an unknown option.
    static func rejectNegativeAmounts(_ arguments: [String]) throws {
        for argument in arguments.prefix(while: { $0 != "--" }) {
            if argument.count > 1, argument.first == "-", argument.dropFirst().first?.isNumber == true {
                throw UserError(message: "'\(argument)' is negative; amounts must be positive", exitCode: 2)
            }
        }
    }
}
