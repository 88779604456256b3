import ArgumentParser
import Engine
import Foundation
import Primitives
import SQLiteSupport

/// The `hongbao` command: the dashboard by default, operator subcommands otherwise.
@main
struct Hongbao: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hongbao",
        abstract: "Red packets, a ledger and a three-copy message queue that never loses money.",
        subcommands: [
            DashboardRunCommand.self, AccountCommand.self, SendCommand.self, GrabCommand.self, OpenCommand.self, PacketCommand.self,
            SeedDemoCommand.self, AuditCommand.self, SimulateCommand.self, BenchCommand.self, QueueCommand.self,
            ServeCommand.self, ClusterCommand.self,
        ],
        defaultSubcommand: DashboardRunCommand.self
    )

    /// Runs the command. Every failure is one line on stderr, sanitized for the terminal (with `--json`, one JSON
    /// object: `{"error": {"code", "message", "exitCode"}}`), and an exit status of the documented scheme
    /// (`ExitStatus`); help and version go to stdout with status 0.
    static func main() async {
        // Before anything opens a database: SQLite takes its process-wide settings only before it initializes.
        SQLiteProcessSettings.apply()
        let arguments = NegativeNumbers.arrange(hoistingCommonOptions(Array(CommandLine.arguments.dropFirst())))
        let json = arguments.prefix(while: { $0 != "--" }).contains("--json")
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as any CustomUserMessage {
            report(code: error.code, message: error.userMessage, exitCode: error.exitCode, json: json)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) } // --help, --version
            let message = Hongbao.message(for: error).split(whereSeparator: \.isNewline).first.map(String.init)
                ?? "\(error)"
            if code == .validationFailure {
                report(code: "usage", message: message + " (see --help)", exitCode: ExitStatus.usage, json: json)
            }
            report(code: "failed", message: message, exitCode: ExitStatus.storage, json: json)
        }
    }

    /// Writes an error for a person (one line, sanitized) or for a tool (one JSON object, exact), on stderr, and exits.
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
            let line = TerminalText.sanitize(message.trimmingCharacters(in: .whitespacesAndNewlines))
            FileHandle.standardError.write(Data("hongbao: \(line)\n".utf8))
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
}

/// A negative number on the command line (`--ttl -1`, `send alice -5`, `queue send q -5`) would be taken for an
/// option by the argument parser. No option of ours is a digit, so such a word is a value: after an option that
/// takes one it is joined to it (`--ttl=-1`, then refused with that option's range); as a positional argument it
/// and the positionals after it are moved behind `--`, so that `queue send q -5` sends the body `-5` and
/// `send alice -5 --to bob` is refused as a negative amount.
enum NegativeNumbers {
    /// The options that take no value.
    static let flags: Set<String> = [
        "--json", "--equal", "--richest", "--deterministic", "--quick", "--half", "--repair", "--compare", "--presenter",
        "--scenario-wait", "--help", "-h", "--version",
    ]

    static func isNegativeNumber(_ word: String) -> Bool {
        word.count > 1 && word.first == "-" && word.dropFirst().first.map { ("0"..."9").contains($0) || $0 == "." } == true
    }

    static func arrange(_ arguments: [String]) -> [String] {
        let end = arguments.firstIndex(of: "--") ?? arguments.endIndex
        let head = arguments[..<end]
        guard head.contains(where: isNegativeNumber) else { return arguments }
        var options: [String] = []
        var moved: [String] = []
        var index = head.startIndex
        while index < head.endIndex {
            let word = head[index]
            if word.hasPrefix("-"), !isNegativeNumber(word) {
                if !word.contains("="), !flags.contains(word), index + 1 < head.endIndex {
                    let value = head[index + 1]
                    options.append(isNegativeNumber(value) ? word + "=" + value : word)
                    if !isNegativeNumber(value) { options.append(value) }
                    index += 2
                } else {
                    options.append(word)
                    index += 1
                }
            } else if isNegativeNumber(word) || !moved.isEmpty {
                moved.append(word)
                index += 1
            } else {
                options.append(word)
                index += 1
            }
        }
        guard !moved.isEmpty else { return options + arguments[end...] }
        let rest = end < arguments.endIndex ? Array(arguments[(end + 1)...]) : []
        return options + ["--"] + moved + rest
    }
}
