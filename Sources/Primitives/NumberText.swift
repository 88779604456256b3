/// A number typed by a person (a CLI option, a `:` command, a form field) that is not a valid value for its
/// place. The message names the place and its range: `--ttl must be a whole number from 1 to 604,800 s, not '0'`.
public struct NumberError: Error, Equatable, Sendable {
    /// Where the number came from: `--ttl`, `shares`, `failure rate`.
    public let option: String
    /// What was typed (shown sanitized and shortened).
    public let text: String
    /// What is accepted: "a whole number from 1 to 100".
    public let expected: String

    public init(option: String, text: String, expected: String) {
        self.option = option
        self.text = text
        self.expected = expected
    }

    /// One line, safe for a terminal.
    public var message: String { "\(option) must be \(expected), not '\(TerminalText.quoted(text))'" }
}

/// The one way numbers enter the program from text. The grammar is strict and the same everywhere: ASCII digits,
/// no sign, no spaces, no thousands separators, no exponent, no leading zeros, no `nan` or `inf`; seconds may have
/// up to three decimals (milliseconds). Every value is checked against its range before it is used, so no input
/// can trap a conversion or overflow.
public enum NumberText {
    /// A whole number within `range`. `unit` is shown after the range ("s", "ms", "%").
    public static func integer(
        _ text: String, option: String, range: ClosedRange<Int>, unit: String = ""
    ) -> Result<Int, NumberError> {
        let error = NumberError(option: option, text: text,
                                expected: "a whole number from \(describe(range.lowerBound, range.upperBound, unit))")
        guard let digits = wholeDigits(Substring(text)), let value = Int(digits), range.contains(value) else {
            return .failure(error)
        }
        return .success(value)
    }

    /// A whole number in the strict grammar, any size that fits `Int`; nil otherwise. For callers that report the
    /// range themselves (the dashboard's `:` line and send form).
    public static func wholeNumber(_ text: String) -> Int? {
        wholeDigits(Substring(text)).flatMap { Int($0) }
    }

    /// A 64-bit seed (any whole number from 0 to 18,446,744,073,709,551,615).
    public static func seed(_ text: String, option: String) -> Result<UInt64, NumberError> {
        guard let digits = wholeDigits(Substring(text)), let value = UInt64(digits) else {
            return .failure(NumberError(option: option, text: text, expected: "a whole number from 0 to \(grouped(UInt64.max))"))
        }
        return .success(value)
    }

    /// A duration written in seconds with at most three decimals (`30`, `0.5`, `1.250`), within `range`.
    public static func seconds(_ text: String, option: String, range: ClosedRange<Duration>) -> Result<Duration, NumberError> {
        let lower = range.lowerBound.wholeMilliseconds, upper = range.upperBound.wholeMilliseconds
        let error = NumberError(option: option, text: text,
                                expected: "a number of seconds from \(describeMilliseconds(lower)) to \(describeMilliseconds(upper)) s")
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = wholeDigits(parts[0]), whole.count <= 12, let seconds = Int64(whole) else { return .failure(error) }
        var milliseconds = seconds * 1_000
        if parts.count == 2 {
            let fraction = parts[1]
            guard (1...3).contains(fraction.count), fraction.allSatisfy(isDigit) else { return .failure(error) }
            milliseconds += Int64(fraction.padding(toLength: 3))!
        }
        guard (lower...upper).contains(milliseconds) else { return .failure(error) }
        return .success(.milliseconds(milliseconds))
    }

    /// A plain decimal with at most three decimals (`2`, `0.5`), within `range`: a factor such as a playback speed.
    public static func decimal(_ text: String, option: String, range: ClosedRange<Double>) -> Result<Double, NumberError> {
        let thousandths = { (value: Double) in Int64((value * 1_000).rounded()) }
        let bounds = Duration.milliseconds(thousandths(range.lowerBound))...Duration.milliseconds(thousandths(range.upperBound))
        switch seconds(text, option: option, range: bounds) {
        case let .success(value): return .success(Double(value.wholeMilliseconds) / 1_000)
        case .failure:
            return .failure(NumberError(option: option, text: text, expected: "a number from \(range.lowerBound) to \(range.upperBound)"))
        }
    }

    /// `text` if it is a canonical unsigned decimal: digits only, no leading zero unless it is `0`, at most 20 digits.
    private static func wholeDigits(_ text: Substring) -> Substring? {
        guard !text.isEmpty, text.count <= 20, text.allSatisfy(isDigit) else { return nil }
        guard text.count == 1 || text.first != "0" else { return nil }
        return text
    }

    private static func isDigit(_ character: Character) -> Bool { ("0"..."9").contains(character) }

    static func describe(_ lower: Int, _ upper: Int, _ unit: String) -> String {
        "\(grouped(lower)) to \(grouped(upper))" + (unit.isEmpty ? "" : " " + unit)
    }

    private static func describeMilliseconds(_ milliseconds: Int64) -> String {
        let whole = grouped(milliseconds / 1_000)
        let fraction = milliseconds % 1_000
        guard fraction != 0 else { return whole }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return whole + "." + digits
    }

    /// `604800` as `604,800`.
    public static func grouped<T: BinaryInteger>(_ value: T) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return (value < 0 ? "-" : "") + result
    }
}

private extension Substring {
    func padding(toLength length: Int) -> String {
        String(self) + String(repeating: "0", count: Swift.max(0, length - count))
    }
}
