import Primitives
import XCTest

final class MoneyParsingTests: XCTestCase {
    func testValidAmountsParseToExactMinorUnits() {
        let table: [(text: String, minorUnits: Int64)] = [
            ("12", 1_200),
            ("12.3", 1_230),
            ("12.34", 1_234),
            ("¥12.34", 1_234),
            ("￥12.34", 1_234),
            ("1000.00", 100_000),
            ("¥1234567.89", 123_456_789),
            ("0", 0),
            ("0.01", 1),
            ("7.5", 750),
            ("92233720368547758.07", Int64.max),
        ]
        for (text, minorUnits) in table {
            XCTAssertEqual(try Money.parse(text).get(), Money(minorUnits: minorUnits), "parsing \(text)")
        }
    }

    /// Decisions: spaces, thousands separators and leading zeros are refused (the README's four forms only);
    /// a trailing point ("1.") and a bare fraction (".5") are malformed, not ¥1.00 and ¥0.50;
    /// zero parses (whether it is allowed is the caller's rule); nothing is ever rounded.
    func testInvalidAmountsAreRejectedWithTheirReason() {
        let table: [(text: String, error: MoneyParseError)] = [
            ("abc", .malformed("abc")),
            ("-1", .negative("-1")),
            ("0.001", .tooPrecise("0.001")),
            ("1e9", .malformed("1e9")),
            ("99999999999999999999", .outOfRange("99999999999999999999")),
            ("92233720368547758.08", .outOfRange("92233720368547758.08")),
            ("", .empty),
            ("   ", .empty),
            (" 5", .malformed(" 5")),
            ("5 ", .malformed("5 ")),
            ("1,000", .malformed("1,000")),
            ("00012", .malformed("00012")),
            ("012.5", .malformed("012.5")),
            ("¥1,234.56", .malformed("¥1,234.56")),
            ("nan", .malformed("nan")),
            ("inf", .malformed("inf")),
            ("5\n", .malformed("5\n")),
            ("1.", .malformed("1.")),
            (".5", .malformed(".5")),
            ("1.2.3", .malformed("1.2.3")),
            ("+1", .malformed("+1")),
            ("¥", .malformed("¥")),
            ("1,00", .malformed("1,00")),
            ("1000,000", .malformed("1000,000")),
            (",100", .malformed(",100")),
            ("12.3a", .malformed("12.3a")),
            ("١٢", .malformed("١٢")), // Arabic-Indic digits are numbers, but not ASCII digits
            ("1 000", .malformed("1 000")),
        ]
        for (text, error) in table {
            XCTAssertEqual(Money.parse(text), .failure(error), "parsing \(text)")
        }
    }
}

final class MoneyFormattingTests: XCTestCase {
    func testFormattedGroupsThousandsWithTheYuanSign() {
        XCTAssertEqual(Money(minorUnits: 123_456).formatted, "¥1,234.56")
        XCTAssertEqual(Money(minorUnits: 123_456_789).formatted, "¥1,234,567.89")
        XCTAssertEqual(Money(minorUnits: 100_000).formatted, "¥1,000.00")
        XCTAssertEqual(Money(minorUnits: 99_999).formatted, "¥999.99")
        XCTAssertEqual(Money(minorUnits: 5).formatted, "¥0.05")
        XCTAssertEqual(Money(minorUnits: 50).formatted, "¥0.50")
        XCTAssertEqual(Money.zero.formatted, "¥0.00")
        XCTAssertEqual(Money(minorUnits: 5).description, "¥0.05")
    }

    func testNegativeAmountsPutTheSignBeforeTheYuanSign() {
        XCTAssertEqual(Money(minorUnits: -5).formatted, "-¥0.05")
        XCTAssertEqual(Money(minorUnits: -123_456).formatted, "-¥1,234.56")
        XCTAssertEqual(Money(minorUnits: .min).formatted, "-¥92,233,720,368,547,758.08")
        XCTAssertEqual(Money(minorUnits: .max).formatted, "¥92,233,720,368,547,758.07")
    }

    func testDecimalStringIsPlain() {
        XCTAssertEqual(Money(minorUnits: 123_456).decimalString, "1234.56")
        XCTAssertEqual(Money(minorUnits: -5).decimalString, "-0.05")
        XCTAssertEqual(Money(minorUnits: 1_230).decimalString, "12.30")
        XCTAssertEqual(Money.zero.decimalString, "0.00")
    }

    func testFormattingRoundTripsThroughParsing() {
        for minorUnits: Int64 in [0, 1, 9, 10, 99, 100, 101, 99_999, 100_000, 123_456_789, .max] {
            let money = Money(minorUnits: minorUnits)
            XCTAssertEqual(try Money.parse(money.decimalString).get(), money)
            XCTAssertEqual(try Money.parse("¥" + money.decimalString).get(), money)
        }
    }
}

final class MoneyArithmeticTests: XCTestCase {
    func testYuanInitialiserScalesToFen() {
        XCTAssertEqual(Money(yuan: 12).minorUnits, 1_200)
        XCTAssertEqual(Money(yuan: -3).minorUnits, -300)
    }

    func testCheckedArithmeticIsExact() {
        let a = Money(minorUnits: 1_001)
        let b = Money(minorUnits: 999)
        XCTAssertEqual(a.adding(b), Money(minorUnits: 2_000))
        XCTAssertEqual(b.subtracting(a), Money(minorUnits: -2))
        XCTAssertEqual(a.multiplied(by: 3), Money(minorUnits: 3_003))
        XCTAssertEqual(a + b, Money(yuan: 20))
        XCTAssertEqual(-a, Money(minorUnits: -1_001))
        var c = a
        c += b
        c -= Money(minorUnits: 1)
        XCTAssertEqual(c, Money(minorUnits: 1_999))
    }

    func testCheckedArithmeticReturnsNilOnOverflow() {
        let max = Money(minorUnits: .max)
        let min = Money(minorUnits: .min)
        XCTAssertNil(max.adding(Money(minorUnits: 1)))
        XCTAssertNil(min.subtracting(Money(minorUnits: 1)))
        XCTAssertNil(Money.zero.subtracting(min))
        XCTAssertNil(max.multiplied(by: 2))
        XCTAssertNil(Money(minorUnits: Int64.max / 3 + 1).multiplied(by: 3))
        XCTAssertNil(min.multiplied(by: -1))
        XCTAssertEqual(max.adding(Money(minorUnits: -1)), Money(minorUnits: .max - 1))
        XCTAssertEqual(Money(minorUnits: Int64.max / 3).multiplied(by: 3), Money(minorUnits: Int64.max / 3 * 3))
    }

    func testSplitEvenlySumsExactlyWithLargerPartsFirst() {
        XCTAssertEqual(Money(yuan: 100).splitEvenly(into: 3),
                       [Money(minorUnits: 3_334), Money(minorUnits: 3_333), Money(minorUnits: 3_333)])
        XCTAssertEqual(Money(minorUnits: 2).splitEvenly(into: 3),
                       [Money(minorUnits: 1), Money(minorUnits: 1), Money.zero])
        XCTAssertEqual(Money(minorUnits: 7).splitEvenly(into: 1), [Money(minorUnits: 7)])
        for total: Int64 in [0, 1, 99, 100, 10_001, 2_000_000, 999_999_999] {
            for parts in [1, 2, 3, 7, 10, 99, 100] {
                let split = Money(minorUnits: total).splitEvenly(into: parts)!
                XCTAssertEqual(split.count, parts)
                XCTAssertEqual(split.reduce(Int64(0)) { $0 + $1.minorUnits }, total, "\(total) into \(parts)")
                XCTAssertLessThanOrEqual(split.first!.minorUnits - split.last!.minorUnits, 1)
                XCTAssertEqual(split, split.sorted(by: >))
            }
        }
    }

    func testSplitEvenlyRefusesNonPositivePartsAndNegativeAmounts() {
        XCTAssertNil(Money(yuan: 1).splitEvenly(into: 0))
        XCTAssertNil(Money(yuan: 1).splitEvenly(into: -2))
        XCTAssertNil(Money(minorUnits: -1).splitEvenly(into: 2))
    }
}
