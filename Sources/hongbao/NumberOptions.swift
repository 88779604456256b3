import Primitives

/// Numbers typed on the command line, parsed by `NumberText` (one grammar for every number of the program) and
/// checked against their range; a bad one is a usage error naming the option and its range.
enum NumberOption {
    static func integer(_ text: String, _ option: String, _ range: ClosedRange<Int>, unit: String = "") throws -> Int {
        switch NumberText.integer(text, option: option, range: range, unit: unit) {
        case let .success(value): return value
        case let .failure(error): throw UserError(message: error.message, exitCode: ExitStatus.usage)
        }
    }

    static func integer(_ text: String?, _ option: String, _ range: ClosedRange<Int>, unit: String = "") throws -> Int? {
        try text.map { try integer($0, option, range, unit: unit) }
    }

    static func seconds(_ text: String?, _ option: String, _ range: ClosedRange<Duration>) throws -> Duration? {
        guard let text else { return nil }
        switch NumberText.seconds(text, option: option, range: range) {
        case let .success(value): return value
        case let .failure(error): throw UserError(message: error.message, exitCode: ExitStatus.usage)
        }
    }

    static func decimal(_ text: String, _ option: String, _ range: ClosedRange<Double>) throws -> Double {
        switch NumberText.decimal(text, option: option, range: range) {
        case let .success(value): return value
        case let .failure(error): throw UserError(message: error.message, exitCode: ExitStatus.usage)
        }
    }

    static func seed(_ text: String, _ option: String = "--seed") throws -> UInt64 {
        switch NumberText.seed(text, option: option) {
        case let .success(value): return value
        case let .failure(error): throw UserError(message: error.message, exitCode: ExitStatus.usage)
        }
    }

    /// How many rows a list command may print.
    static let listRange = 1...Limits.default.output.maxListRows
}
