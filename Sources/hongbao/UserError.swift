import Engine
import Foundation
import Primitives

/// An error rendered for a person: one line, no stack trace, a stable exit code.
protocol CustomUserMessage: Error {
    var userMessage: String { get }
    var exitCode: Int32 { get }
}

/// The one place where domain errors become user text. Each module's error enum gets a case here.
struct UserError: CustomUserMessage {
    let userMessage: String
    let exitCode: Int32

    init(message: String, exitCode: Int32 = 1) {
        self.userMessage = message
        self.exitCode = exitCode
    }

    init(_ error: any Error) {
        switch error {
        case let error as UserError:
            self = error
        case let error as DataDirectoryError:
            self.init(message: UserError.text(error), exitCode: error.isInUse ? 3 : 2)
        case let error as MoneyParseError:
            self.init(message: UserError.text(error), exitCode: 2)
        default:
            self.init(message: "\(error)")
        }
    }

    static func text(_ error: DataDirectoryError) -> String {
        switch error {
        case let .inUse(path, pid):
            return "data directory \(path) is in use by " + (pid.map { "pid \($0)" } ?? "another process")
        case let .unwritable(path, reason):
            return "data directory \(path) is not writable: \(reason)"
        case let .notADirectory(path):
            return "\(path) is not a directory"
        }
    }

    static func text(_ error: MoneyParseError) -> String {
        switch error {
        case .empty: return "an amount is required"
        case let .malformed(text): return "'\(text)' is not an amount (write it like 12.34)"
        case let .tooPrecise(text): return "'\(text)' has more than two decimals (the smallest unit is 0.01)"
        case let .outOfRange(text): return "'\(text)' is too large"
        case let .negative(text): return "'\(text)' is negative; amounts must be positive"
        }
    }
}

extension DataDirectoryError {
    var isInUse: Bool {
        if case .inUse = self { return true }
        return false
    }
}
