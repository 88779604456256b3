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
            ServeCommand.self,
        ],
        defaultSubcommand: DashboardRunCommand.self
    )

    /// Runs the command and turns any error into one line on stderr and an exit code (`UserError`); with
    /// `--json`, into one JSON object on stderr: `{"error": {"code", "message", "exitCode"}}`.
    static func main() async {
        let arguments = hoistingCommonOptions(Array(CommandLine.arguments.dropFirst()))
        let json = arguments.prefix(while: { $0 != "--" }).contains("--json")
        do {
            try rejectNegativeAmounts(arguments)
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if let cliError = error as? any CustomUserMessage {
                report(code: cliError.code, message: cliError.userMessage, exitCode: cliError.exitCode, json: json)
            }
            let exitCode = exitCode(for: error).rawValue
            if json && exitCode != 0 && !(error is ExitCode) {
                report(code: "usage", message: message(for: error).split(separator: "\n").first.map(String.init) ?? "",
                       exitCode: exitCode, json: true)
            }
            exit(withError: error)
        }
    }

    /// Writes an error for a person (one line) or for a tool (one JSON object), on stderr, and exits.
    static func report(code: String, message: String, exitCode: Int32, json: Bool) -> Never {
        if json {
            struct Body: Encodable {
                struct Detail: Encodable {
                    let code: String
                    let message: String
                    let exitCode: Int32
                }
                let error: Detail
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(Body(error: .init(code: code, message: message, exitCode: exitCode)))) ?? Data()
            FileHandle.standardError.write(data + Data("\n".utf8))
        } else {
            FileHandle.standardError.write(Data("hongbao: \(message)\n".utf8))
        }
        Foundation.exit(exitCode)
    }

    /// The options every command shares (`--data DIR`, `--durability X`, `--json`) are accepted before the
    /// subcommand too, as people type them: `hongbao --data D seed-demo` becomes `hongbao seed-demo --data D`.
    /// Leading common options are moved to just after the subcommand's name (and its sub-subcommand's).
    static func hoistingCommonOptions(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--json" || argument.hasPrefix("--data=") || argument.hasPrefix("--durability=") {
                leading.append(argument)
                index += 1
            } else if (argument == "--data" || argument == "--durability") && index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else {
                break
            }
        }
        guard !leading.isEmpty else { return arguments }
        let rest = Array(arguments[index...])
        var command: any ParsableCommand.Type = Hongbao.self
        var depth = 0
        while depth < rest.count,
              let subcommand = command.configuration.subcommands.first(where: { $0._commandName == rest[depth] }) {
            command = subcommand
            depth += 1
        }
        return Array(rest[..<depth]) + leading + Array(rest[depth...])
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
