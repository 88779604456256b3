import Primitives

/// Why a `:` command line did not parse. Turned into status-line text by `message`, the one place it is worded.
public enum CommandLineError: Error, Sendable, Equatable {
    case empty
    case unknownCommand(String)
    case missingArgument(command: String, usage: String)
    case badNumber(String)
    case badAmount(String)
    case outOfRange(what: String, value: Int, range: ClosedRange<Int>)
    case unknownOption(String)
    case unknownReplica(String)
    case unknownAction(command: String, action: String, allowed: [String])

    /// One line for the status bar.
    public var message: String {
        switch self {
        case .empty:
            return "empty command (try :help)"
        case .unknownCommand(let word):
            return "unknown command '\(word)' (try :help)"
        case .missingArgument(let command, let usage):
            return "\(command): missing argument; usage: \(usage)"
        case .badNumber(let text):
            return "'\(TerminalText.quoted(text))' is not a whole number (digits only)"
        case .badAmount(let text):
            return "'\(TerminalText.quoted(text))' is not an amount (like 100 or 8.37)"
        case .outOfRange(let what, let value, let range):
            return "\(what) \(value) is out of range \(range.lowerBound)–\(range.upperBound)"
        case .unknownOption(let option):
            return "unknown option '\(option)'"
        case .unknownReplica(let name):
            return "unknown replica '\(name)' (a, b or c)"
        case .unknownAction(let command, let action, let allowed):
            return "\(command): unknown action '\(action)' (\(allowed.joined(separator: ", ")))"
        }
    }
}
