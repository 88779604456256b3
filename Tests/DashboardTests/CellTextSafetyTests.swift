import Dashboard
import Primitives
import XCTest

/// What reaches dashboard cells: names, message bodies, captions and events, whatever they hold.
final class CellTextSafetyTests: XCTestCase {
    func testControlAndBidiCharactersReachCellsEscaped() {
        var buffer = CellBuffer(width: 40, height: 1)
        buffer.write("x\u{1B}]0;PWNED\u{7}|evil\u{202E}abc", x: 0, y: 0)
        let text = buffer.text()
        XCTAssertEqual(text, "x\\e]0;PWNED\\u{7}|evil\\u{202E}abc")
        for x in 0..<buffer.width {
            for scalar in buffer[x, 0].character.unicodeScalars {
                XCTAssertFalse(TerminalText.isUnsafe(scalar), "cell \(x) holds U+\(String(scalar.value, radix: 16))")
            }
        }
    }

    /// A row `|name|` keeps its right border in the same column whatever emoji sequence the name holds.
    func testEmojiSequencesKeepARowsRightBorderInPlace() {
        for name in ["alice", "👨‍👩‍👧", "🇨🇳🇨🇳", "bob👍🏽", "❤️张三", "🏳️‍🌈x"] {
            var buffer = CellBuffer(width: 12, height: 1)
            buffer.write("|", x: 0, y: 0)
            buffer.write(DisplayWidth.fit(name, to: 8), x: 1, y: 0, maxWidth: 8)
            buffer.write("|", x: 9, y: 0)
            XCTAssertEqual(buffer[9, 0].character, "|", name)
            let columns = (1..<9).reduce(0) { $0 + Int(buffer[$1, 0].width) }
            XCTAssertEqual(columns, 8, "\(name): the cells between the borders take exactly 8 columns")
        }
    }
}
