import Dashboard
import Primitives
import XCTest

final class RenderSnapshotTests: XCTestCase {
    func testFullDashboardAt80x24() {
        let buffer = Fixture.render(Fixture.model(width: 80, height: 24), width: 80, height: 24)
        SnapshotFile.assertMatches(buffer.text(), named: "dashboard-80x24")
    }

    func testFullDashboardAt120x40WithQueueFocused() {
        var model = Fixture.model(width: 120, height: 40, focus: .queue)
        model.selection[.queue] = 1
        let buffer = Fixture.render(model, width: 120, height: 40)
        SnapshotFile.assertMatches(buffer.text(), named: "dashboard-120x40")
    }

    func testFullDashboardAt200x60UsesThreeColumns() {
        let buffer = Fixture.render(Fixture.model(width: 200, height: 60, focus: .packets), width: 200, height: 60)
        SnapshotFile.assertMatches(buffer.text(), named: "dashboard-200x60")
        XCTAssertTrue(buffer.text().split(separator: "\n")[2].contains("3 Credit queue"), "queue sits in the top row on wide screens")
    }

    func testHelpOverlayAt120x40() {
        var model = Fixture.model(width: 120, height: 40)
        model.overlay = .help(scroll: 0)
        SnapshotFile.assertMatches(Fixture.render(model, width: 120, height: 40).text(), named: "help-120x40")
    }

    func testFormWithValidationErrorAt80x24() {
        var model = Fixture.model(width: 80, height: 24)
        var form = SendForm(amount: "12.345", shares: "10")
        form.focused = .amount
        model.overlay = .form(form)
        let text = Fixture.render(model, width: 80, height: 24).text()
        SnapshotFile.assertMatches(text, named: "form-error-80x24")
        XCTAssertTrue(text.contains("✗ Amount ¥: at most two decimals (fen)"))
    }

    func testConfirmDialogAt80x24() {
        var model = Fixture.model(width: 80, height: 24, focus: .queue)
        model.overlay = .confirm(question: "Corrupt replica b? Its copy must then be rebuilt.", command: .replica(name: "b", action: .corrupt))
        SnapshotFile.assertMatches(Fixture.render(model, width: 80, height: 24).text(), named: "confirm-80x24")
    }

    func testCommandLineAndErrorStatus() {
        var model = Fixture.model(width: 80, height: 24)
        model.overlay = .commandLine(text: "send alice 100 --shares 10", historyIndex: nil)
        XCTAssertEqual(Fixture.render(model, width: 80, height: 24).text().split(separator: "\n").last, ":send alice 100 --shares 10█")
        model.overlay = nil
        model.setStatus("unknown command 'sned' (try :help)", .error, now: Fixture.now)
        let footer = Fixture.render(model, width: 80, height: 24).text().split(separator: "\n").last ?? ""
        XCTAssertTrue(footer.hasPrefix(" ✗ unknown command 'sned' (try :help)"), String(footer))
    }

    func testStatusExpires() {
        var model = Fixture.model(width: 80, height: 24)
        model.setStatus("sent p1", .success, now: Timestamp(millisecondsSinceEpoch: Fixture.now.millisecondsSinceEpoch - 60_000))
        XCTAssertFalse(Fixture.render(model, width: 80, height: 24).text().contains("sent p1"))
    }

    func testTooSmallMessage() {
        let text = Fixture.render(Fixture.model(width: 60, height: 20), width: 60, height: 20).text()
        SnapshotFile.assertMatches(text, named: "too-small-60x20")
        XCTAssertTrue(text.contains("terminal too small: 60×20, need 80×24"))
    }

    func testNoColorKeepsMeaningInAttributesAndWords() {
        var model = Fixture.model(width: 80, height: 24, focus: .queue)
        model.selection[.queue] = 1
        let buffer = Fixture.render(model, width: 80, height: 24, options: RenderOptions(unicode: true, color: false))
        SnapshotFile.assertMatches(buffer.text() + "\n--- attributes ---\n" + buffer.attributeMap(), named: "no-color-80x24")
        XCTAssertTrue(buffer.text().contains("DOWN"))
        // The selected replica row is reversed; an error word is bold even without colour.
        let rows = buffer.text().split(separator: "\n", omittingEmptySubsequences: false)
        guard let downRow = rows.firstIndex(where: { $0.contains("b ▼ DOWN") }), let column = rows[downRow].firstIndex(of: "D") else {
            return XCTFail("replica b row not found")
        }
        let x = DisplayWidth.of(String(rows[downRow][..<column]))
        XCTAssertTrue(buffer[x, downRow].style.reverse)
        XCTAssertTrue(buffer[x, downRow].style.bold)
    }

    /// With no open in the recent window there is no latency to show: a dash, in Unicode and in ASCII, where
    /// "p99 0µs" read as opens taking no time at all. A measured figure is shown as it is.
    func testTheHeaderShowsADashForLatencyWithNoOpensMeasured() {
        var quiet = Fixture.snapshot
        quiet.header.openLatencyP50 = nil
        quiet.header.openLatencyP99 = nil
        for (options, dash) in [(RenderOptions(), "—"), (RenderOptions(unicode: false, color: true), "-")] {
            let line = Fixture.render(Fixture.model(width: 120, height: 40), width: 120, height: 40, options: options,
                                      snapshot: quiet).text().split(separator: "\n")[1]
            XCTAssertTrue(line.contains("p50 \(dash)  p99 \(dash)"), String(line))
            XCTAssertFalse(line.contains("0µs") || line.contains("0us"), String(line))
        }
        var busy = Fixture.snapshot
        busy.header.openLatencyP50 = .microseconds(3_150)
        busy.header.openLatencyP99 = .zero
        let line = Fixture.render(Fixture.model(width: 120, height: 40), width: 120, height: 40, snapshot: busy).text()
            .split(separator: "\n")[1]
        XCTAssertTrue(line.contains("p50 3.1ms  p99 0µs"), "a measured zero is still shown: \(line)")
    }

    func testASCIIFallbackHasNoNonASCIIOutsideData() {
        let buffer = Fixture.render(Fixture.model(width: 120, height: 40), width: 120, height: 40, options: RenderOptions(unicode: false, color: true))
        SnapshotFile.assertMatches(buffer.text(), named: "ascii-120x40")
        XCTAssertFalse(buffer.text().contains("╭"))
        XCTAssertFalse(buffer.text().unicodeScalars.contains { (0x2800...0x28FF).contains($0.value) })
        // LANG=C: readable ASCII, not "?" for every glyph the terminal lacks.
        for glyph in ["¥", "µ", "·", "…", "—", "×", "→", "✓", "✗", "▶", "│", "█", "★", "●", "‖", "▲", "▼"] {
            XCTAssertFalse(buffer.text().contains(glyph), "\(glyph) in the ASCII rendering")
        }
        XCTAssertTrue(buffer.text().contains("CNY 98,765.43"))
        XCTAssertTrue(buffer.text().contains("..."), "a cut ends in ...")
    }

    func testASCIICutsAreDotsAtEveryWidthEvenTooNarrowForThree() {
        // "…" reaches an ASCII terminal as "?": a cell three columns wide or less used to get one.
        for (width, height) in [(80, 24), (90, 28), (100, 30), (120, 40), (250, 70)] {
            let text = Fixture.render(Fixture.model(width: width, height: height), width: width, height: height,
                                      options: RenderOptions(unicode: false, color: false)).text()
            XCTAssertFalse(text.contains("…"), "\(width)x\(height):\n\(text)")
        }
        var buffer = CellBuffer(width: 10, height: 1)
        buffer.asciiOnly = true
        for limit in 1...5 {
            buffer.fill(Rect(x: 0, y: 0, width: 10, height: 1))
            buffer.write("X 0 crashed", x: 0, y: 0, maxWidth: limit)
            let written = String(buffer.text().prefix(limit))
            XCTAssertEqual(written, ["", ".", "X.", "X .", "X...", "X ..."][limit], "limit \(limit)")
        }
    }
}
