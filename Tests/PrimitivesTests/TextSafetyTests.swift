import Primitives
import XCTest

final class NumberTextTests: XCTestCase {
    func testWholeNumbersWithinTheirRangeParse() {
        XCTAssertEqual(try NumberText.integer("1", option: "--ttl", range: 1...604_800).get(), 1)
        XCTAssertEqual(try NumberText.integer("604800", option: "--ttl", range: 1...604_800).get(), 604_800)
        XCTAssertEqual(try NumberText.integer("0", option: "--rate", range: 0...10).get(), 0)
        XCTAssertEqual(try NumberText.seed("18446744073709551615", option: "--seed").get(), .max)
    }

    /// Every hostile spelling is refused with the option and its range in one line; none traps.
    func testEverythingElseIsRefusedNamingTheOptionAndItsRange() {
        let hostile = ["", " 5", "5 ", "-1", "+1", "0x10", "1e3", "1e400", "nan", "NaN", "inf", "-inf", "1.5", "1,000", "007",
                       "9223372036854775807", "99999999999999999999999", "٣", "５", "5\n", "\u{1B}[2J", "0", "604801"]
        for text in hostile {
            switch NumberText.integer(text, option: "--ttl", range: 1...604_800, unit: "s") {
            case .success(let value): XCTFail("\(text.debugDescription) parsed as \(value)")
            case .failure(let error):
                XCTAssertTrue(error.message.hasPrefix("--ttl must be a whole number from 1 to 604,800 s, not '"), error.message)
                XCTAssertFalse(error.message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, error.message)
            }
        }
        XCTAssertThrowsError(try NumberText.seed("-1", option: "--seed").get())
        XCTAssertThrowsError(try NumberText.seed("18446744073709551616", option: "--seed").get())
    }

    func testSecondsTakeUpToThreeDecimalsWithinTheirRange() {
        let range = Duration.seconds(1)...Duration.seconds(43_200)
        XCTAssertEqual(try NumberText.seconds("30", option: "--visibility", range: range).get(), .seconds(30))
        XCTAssertEqual(try NumberText.seconds("1.5", option: "--visibility", range: range).get(), .milliseconds(1_500))
        XCTAssertEqual(try NumberText.seconds("43200", option: "--visibility", range: range).get(), .seconds(43_200))
        for text in ["nan", "inf", "1e400", "1e300", "-1", "0", "0.999", "43200.001", "1.2345", "1.", ".5", "", "1 ", "１"] {
            switch NumberText.seconds(text, option: "--visibility", range: range) {
            case .success(let value): XCTFail("\(text.debugDescription) parsed as \(value)")
            case .failure(let error):
                XCTAssertEqual(error.message, "--visibility must be a number of seconds from 1 to 43,200 s, not '\(text)'")
            }
        }
        XCTAssertEqual(try NumberText.seconds("0.25", option: "--delay", range: .zero...Duration.seconds(3_600)).get(),
                       .milliseconds(250))
    }
}

final class TerminalTextTests: XCTestCase {
    func testControlBidiAndInvisibleCharactersAreEscapedVisibly() {
        XCTAssertEqual(TerminalText.sanitize("x\u{1B}]0;PWNED\u{7}"), "x\\e]0;PWNED\\u{7}")
        XCTAssertEqual(TerminalText.sanitize("a\nb\tc\rd"), "a\\nb\\tc\\rd")
        XCTAssertEqual(TerminalText.sanitize("evil\u{202E}abc"), "evil\\u{202E}abc")
        XCTAssertEqual(TerminalText.sanitize("\u{FEFF}bob"), "\\u{FEFF}bob")
        XCTAssertEqual(TerminalText.sanitize("a\u{200B}b\u{2066}c\u{2028}d"), "a\\u{200B}b\\u{2066}c\\u{2028}d")
        XCTAssertEqual(TerminalText.sanitize("\u{9B}31m"), "\\u{9B}31m", "C1 CSI")
        XCTAssertEqual(TerminalText.sanitize("\u{7F}"), "\\u{7F}")
    }

    func testPrintableTextOfAnyScriptAndEmojiSequencesIsKept() {
        for text in ["alice", "张三", "恭喜发财，大吉大利", "👨‍👩‍👧", "🇨🇳", "👍🏽", "❤️", "🏳️‍🌈", "é", "नमस्ते", "Ünïcødé ¥1,000.00", "a\\b"] {
            XCTAssertEqual(TerminalText.sanitize(text), text)
        }
    }

    func testSanitizingIsIdempotentAndLeavesNoControlCharacter() {
        let hostile = "\u{1B}[2J\u{0}\u{8}\u{9B}\u{202E}\u{2067}\u{200F}\u{FEFF}\u{180E}\u{115F}\u{AD}\n"
        let once = TerminalText.sanitize(hostile)
        XCTAssertEqual(TerminalText.sanitize(once), once)
        XCTAssertTrue(once.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F }, once)
    }
}

final class TextRulesTests: XCTestCase {
    func testNamesRefuseInvisibleAndDirectionChangingCharacters() {
        for name in ["\u{FEFF}bob", "evil\u{202E}abc", "a\u{200B}b", "x\u{2066}y", "a\u{200D}b", "a\u{AD}b", "a\u{2060}b",
                     "a\u{E0001}b", "a\u{FE0F}", "a b", "a\tb", "a\u{3000}b", "a\u{E000}b", "a\u{FFFD}b", "a\u{0378}b"] {
            XCTAssertNotNil(TextRules.problem(in: name, allowSpaces: false, allowEmojiJoiners: false), name.debugDescription)
        }
        for name in ["alice", "张三", "Zoë", "O'Brien", "🧧"] {
            XCTAssertNil(TextRules.problem(in: name, allowSpaces: false, allowEmojiJoiners: false), name)
        }
    }

    func testGreetingsAllowSpacesAndEmojiSequencesButNoLineBreaks() {
        for greeting in ["恭喜 发财", "新年快乐 👨‍👩‍👧 🇨🇳 ❤️", "Happy\u{3000}New Year"] {
            XCTAssertNil(TextRules.problem(in: greeting, allowSpaces: true, allowEmojiJoiners: true), greeting)
        }
        for greeting in ["a\nb", "a\u{2028}b", "a\u{1B}[2J", "a\u{202E}b", "a\u{200B}b"] {
            XCTAssertNotNil(TextRules.problem(in: greeting, allowSpaces: true, allowEmojiJoiners: true), greeting.debugDescription)
        }
    }

    func testLookalikeKeysFoldCaseAndCompatibilityForms() {
        XCTAssertEqual(TextRules.lookalikeKey("ALICE"), TextRules.lookalikeKey("alice"))
        XCTAssertEqual(TextRules.lookalikeKey("Ａｌｉｃｅ"), TextRules.lookalikeKey("alice"))
        XCTAssertEqual(TextRules.lookalikeKey("ｍｉｎｔ"), "mint")
        XCTAssertEqual(TextRules.lookalikeKey("Straße"), TextRules.lookalikeKey("STRASSE"))
        XCTAssertEqual(TextRules.lookalikeKey("ﬁnn"), TextRules.lookalikeKey("finn"), "ligature")
        XCTAssertEqual(TextRules.lookalikeKey("Zoe\u{308}"), TextRules.lookalikeKey("Zoë"))
        XCTAssertNotEqual(TextRules.lookalikeKey("张三"), TextRules.lookalikeKey("张四"))
    }
}

final class EmojiDisplayWidthTests: XCTestCase {
    /// Each of these is one two-column picture in a terminal; counted otherwise, a row's right border moves.
    func testEmojiSequencesAreTwoColumns() {
        for emoji in ["👨‍👩‍👧", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇨🇳", "🇺🇸", "👍🏽", "❤️", "1️⃣", "🧑‍💻", "🫠", "🧧", "👪"] {
            XCTAssertEqual(Array(emoji).count, 1, "\(emoji) is one grapheme cluster")
            XCTAssertEqual(DisplayWidth.of(emoji), 2, emoji)
        }
        XCTAssertEqual(DisplayWidth.of("a👨‍👩‍👧b"), 4)
        XCTAssertEqual(DisplayWidth.of("❤"), 1, "text presentation without VS16")
        XCTAssertEqual(DisplayWidth.of("क्‍ष"), DisplayWidth.of("क्ष"), "a joiner in a script is not an emoji")
    }

    func testAPaddedEmojiNameFillsExactlyItsColumns() {
        for name in ["👨‍👩‍👧", "🇨🇳🇨🇳", "bob👍🏽", "张三❤️"] {
            XCTAssertEqual(DisplayWidth.of(DisplayWidth.fit(name, to: 12)), 12, name)
            XCTAssertEqual(DisplayWidth.of(DisplayWidth.fit(name, to: 3)), 3, name)
        }
    }
}
