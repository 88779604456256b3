import Primitives
import Dashboard
import XCTest

final class DisplayWidthTests: XCTestCase {
    func testWidths() {
        XCTAssertEqual(DisplayWidth.of("alice"), 5)
        XCTAssertEqual(DisplayWidth.of("王小明"), 6)
        XCTAssertEqual(DisplayWidth.of("佐藤さくら"), 10)
        XCTAssertEqual(DisplayWidth.of("한국"), 4)
        XCTAssertEqual(DisplayWidth.of("ｈｅｌｌｏ"), 10, "fullwidth Latin")
        XCTAssertEqual(DisplayWidth.of("¥"), 1)
        XCTAssertEqual(DisplayWidth.of("￥"), 2)
        XCTAssertEqual(DisplayWidth.of("e\u{301}"), 1, "combining acute")
        XCTAssertEqual(DisplayWidth.of(Character("e\u{301}")), 1)
        XCTAssertEqual(DisplayWidth.of(Unicode.Scalar(0x301)!), 0)
        XCTAssertEqual(DisplayWidth.of("a\u{200B}b"), 2, "zero-width space")
        XCTAssertEqual(DisplayWidth.of("🧧"), 2)
        XCTAssertEqual(DisplayWidth.of("✓✗▲▼"), 4)
        XCTAssertEqual(DisplayWidth.of("⣿"), 1)
        XCTAssertEqual(DisplayWidth.of("\u{7}"), 0, "control characters take no column")
    }

    func testTruncationNeverSplitsAWideGlyph() {
        XCTAssertEqual(DisplayWidth.truncate("王小明", to: 6), "王小明")
        XCTAssertEqual(DisplayWidth.truncate("王小明", to: 5), "王小…")
        XCTAssertEqual(DisplayWidth.truncate("王小明", to: 4), "王…")
        XCTAssertEqual(DisplayWidth.truncate("王小明", to: 2), "…")
        XCTAssertEqual(DisplayWidth.truncate("alice", to: 4), "ali…")
        XCTAssertEqual(DisplayWidth.truncate("alice", to: 0), "")
        for columns in 0...12 {
            XCTAssertLessThanOrEqual(DisplayWidth.of(DisplayWidth.truncate("佐藤さくらabc", to: columns)), columns)
        }
        XCTAssertEqual(DisplayWidth.truncateLeading("2rbw9gczd4mm", to: 7), "…czd4mm", "the end tells ids apart")
        XCTAssertEqual(DisplayWidth.truncateLeading("2rbw9gczd4mm", to: 12), "2rbw9gczd4mm")
        XCTAssertEqual(DisplayWidth.truncateLeading("王小明", to: 5), "…小明")
        XCTAssertEqual(DisplayWidth.truncateLeading("王小明", to: 4), "…明")
        XCTAssertEqual(DisplayWidth.truncateLeading("alice", to: 0), "")
        for columns in 0...12 {
            XCTAssertLessThanOrEqual(DisplayWidth.of(DisplayWidth.truncateLeading("佐藤さくらabc", to: columns)), columns)
        }
        XCTAssertEqual(DisplayWidth.fit("李娜", to: 6), "李娜  ")
        XCTAssertEqual(DisplayWidth.fit("李娜", to: 6, alignRight: true), "  李娜")
    }

    func testCellBufferKeepsWideGlyphsWhole() {
        var buffer = CellBuffer(width: 6, height: 1)
        XCTAssertEqual(buffer.write("王小明", x: 0, y: 0), 6)
        XCTAssertEqual(buffer[0, 0].width, 2)
        XCTAssertEqual(buffer[1, 0].width, 0)
        XCTAssertEqual(buffer.text(), "王小明")
        buffer.write("x", x: 3, y: 0)  // lands on the right half of 小
        XCTAssertEqual(buffer.text(), "王 x明")
        buffer.write("y", x: 4, y: 0)  // lands on the left half of 明
        XCTAssertEqual(buffer.text(), "王 xy")
        var narrow = CellBuffer(width: 5, height: 1)
        narrow.write("ab王小", x: 0, y: 0)
        XCTAssertEqual(narrow.text(), "ab王…")
        var edge = CellBuffer(width: 3, height: 1)
        edge.write("a王", x: 1, y: 0, maxWidth: 1)
        XCTAssertEqual(edge.text(), " …", "cut text ends in an ellipsis, never half a glyph")
        edge.write("李", x: 2, y: 0)
        XCTAssertEqual(edge[2, 0].width, 1, "a wide glyph in the last column is replaced")
    }

    func testFillAndRestyleClipToTheBuffer() {
        var buffer = CellBuffer(width: 4, height: 2)
        buffer.fill(Rect(x: 30, y: 30, width: 5, height: 5), character: "x")
        buffer.fill(Rect(x: -3, y: -3, width: 5, height: 4), character: "y")
        buffer.restyle(Rect(x: 10, y: -10, width: 3, height: 3)) { $0.bold = true }
        XCTAssertEqual(buffer.text(), "yy\n")
    }

    func testSparklines() {
        XCTAssertEqual(Sparkline.lines([0, 1, 2, 3, 4, 5, 6, 7, 8], width: 9, style: .blocks), [" ▁▂▃▄▅▆▇█"])
        XCTAssertEqual(Sparkline.lines([0, 4, 8, 4], width: 2, style: .braille), ["⢠⣧"])
        XCTAssertEqual(Sparkline.lines([0, 0], width: 1, style: .braille), [" "])
        XCTAssertEqual(Sparkline.lines([8], width: 3, rows: 2, style: .braille), ["  ⢸", "  ⢸"])
        XCTAssertEqual(Sparkline.lines([1, 2, 3], width: 3, style: .ascii), ["-+#"])
        XCTAssertEqual(Sparkline.lines([5], width: 0, style: .braille), [])
        XCTAssertEqual(Sparkline.lines([], width: 2, style: .blocks), ["  "])
    }
}
