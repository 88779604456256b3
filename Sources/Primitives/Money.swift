/// An amount of money in integer minor units (fen: ¥1.00 = 100).
///
/// No floating point ever touches a `Money`: parsing reads the decimal text digit by digit,
/// arithmetic is checked, and splitting returns parts that sum exactly to the whole.
public struct Money: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The amount in minor units (fen). May be negative only for the mint's balance and for deltas.
    public let minorUnits: Int64

    /// Minor units per major unit (100 fen per yuan).
    public static let minorUnitsPerMajor: Int64 = 100

    public static let zero = Money(minorUnits: 0)

    @inlinable
    public init(minorUnits: Int64) {
        self.minorUnits = minorUnits
    }

    /// `Money(yuan: 12)` is ¥12.00. Traps on overflow: only for literals in code and tests.
    public init(yuan: Int64) {
        let (value, overflow) = yuan.multipliedReportingOverflow(by: Money.minorUnitsPerMajor)
        precondition(!overflow, "Money(yuan:) overflow")
        self.minorUnits = value
    }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.minorUnits < rhs.minorUnits }

    public var isPositive: Bool { minorUnits > 0 }
    public var isNegative: Bool { minorUnits < 0 }

    /// Checked addition: `nil` on overflow.
    public func adding(_ other: Money) -> Money? {
        let (value, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        return overflow ? nil : Money(minorUnits: value)
    }

    /// Checked subtraction: `nil` on overflow.
    public func subtracting(_ other: Money) -> Money? {
        let (value, overflow) = minorUnits.subtractingReportingOverflow(other.minorUnits)
        return overflow ? nil : Money(minorUnits: value)
    }

    /// Checked multiplication by a count: `nil` on overflow.
    public func multiplied(by count: Int64) -> Money? {
        let (value, overflow) = minorUnits.multipliedReportingOverflow(by: count)
        return overflow ? nil : Money(minorUnits: value)
    }

    /// Addition that traps on overflow. Use only where overflow means the books are already wrong.
    public static func + (lhs: Money, rhs: Money) -> Money {
        guard let sum = lhs.adding(rhs) else { preconditionFailure("Money overflow: \(lhs) + \(rhs)") }
        return sum
    }

    /// Subtraction that traps on overflow. Use only where overflow means the books are already wrong.
    public static func - (lhs: Money, rhs: Money) -> Money {
        guard let difference = lhs.subtracting(rhs) else { preconditionFailure("Money overflow: \(lhs) - \(rhs)") }
        return difference
    }

    public static prefix func - (value: Money) -> Money {
        Money.zero - value
    }

    public static func += (lhs: inout Money, rhs: Money) { lhs = lhs + rhs }
    public static func -= (lhs: inout Money, rhs: Money) { lhs = lhs - rhs }

    /// Splits into `parts` amounts that differ by at most one minor unit and sum exactly to `self`;
    /// the larger parts come first. `nil` when `parts` is not positive or `self` is negative.
    public func splitEvenly(into parts: Int) -> [Money]? {
        guard parts > 0, minorUnits >= 0 else { return nil }
        let count = Int64(parts)
        let base = minorUnits / count
        let remainder = Int(minorUnits % count)
        return (0..<parts).map { Money(minorUnits: base + ($0 < remainder ? 1 : 0)) }
    }

    /// "12.34", "-0.05": the plain decimal form used in JSON and the CLI.
    public var decimalString: String {
        let sign = minorUnits < 0 ? "-" : ""
        let magnitude = minorUnits.magnitude
        let major = magnitude / UInt64(Money.minorUnitsPerMajor)
        let minor = magnitude % UInt64(Money.minorUnitsPerMajor)
        return "\(sign)\(major).\(minor < 10 ? "0" : "")\(minor)"
    }

    /// "¥12.34", "-¥0.05", "¥1,234,567.89": for people.
    public var formatted: String {
        let sign = minorUnits < 0 ? "-" : ""
        let magnitude = minorUnits.magnitude
        let major = magnitude / UInt64(Money.minorUnitsPerMajor)
        let minor = magnitude % UInt64(Money.minorUnitsPerMajor)
        return "\(sign)¥\(Money.groupThousands(major)).\(minor < 10 ? "0" : "")\(minor)"
    }

    public var description: String { formatted }

    private static func groupThousands(_ value: UInt64) -> String {
        let digits = Array(String(value))
        var out = ""
        out.reserveCapacity(digits.count + digits.count / 3)
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }
}
