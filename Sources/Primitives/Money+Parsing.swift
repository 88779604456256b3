/// Why a text is not an amount of money. Rendered to user text by the executable and the dashboard.
public enum MoneyParseError: Error, Equatable, Sendable {
    case empty
    /// Not of the form `123`, `123.4` or `123.45` (optionally prefixed by `¥` or `￥`).
    case malformed(String)
    /// More than two digits after the decimal point.
    case tooPrecise(String)
    /// Does not fit the 64-bit minor-unit representation.
    case outOfRange(String)
    case negative(String)
}

extension Money {
    /// Parses a non-negative decimal amount, written exactly as `12`, `12.3`, `12.34` or `¥12.34` (`￥`, the
    /// full-width sign, too).
    ///
    /// Rejects everything else: surrounding spaces, thousands separators (`1,000` reads as one thousand in some
    /// places and one in others), leading zeros (`00012`), exponents, signs, more than two decimals and anything
    /// that overflows; never rounds. Whether zero or a large value is acceptable is the caller's rule (see `Limits`).
    public static func parse(_ text: String) -> Result<Money, MoneyParseError> {
        var body = Substring(text)
        guard !body.allSatisfy(\.isWhitespace) else { return .failure(.empty) }
        if body.first == "-" { return .failure(.negative(text)) }
        if body.first == "¥" || body.first == "￥" { body = body.dropFirst() }
        let parts = body.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return .failure(.malformed(text)) }
        let majorText = parts[0]
        guard !majorText.isEmpty, majorText.allSatisfy(\.isASCIIDigit),
              majorText.count == 1 || majorText.first != "0" else {
            return .failure(.malformed(text))
        }
        var minorText = parts.count == 2 ? String(parts[1]) : ""
        if parts.count == 2 && minorText.isEmpty { return .failure(.malformed(text)) }
        guard minorText.allSatisfy(\.isASCIIDigit) else { return .failure(.malformed(text)) }
        guard minorText.count <= 2 else { return .failure(.tooPrecise(text)) }
        while minorText.count < 2 { minorText.append("0") }

        var value: Int64 = 0
        for digit in majorText + minorText {
            guard let digitValue = digit.wholeNumberValue else { return .failure(.malformed(text)) }
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = shifted.addingReportingOverflow(Int64(digitValue))
            if overflowA || overflowB { return .failure(.outOfRange(text)) }
            value = next
        }
        return .success(Money(minorUnits: value))
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
