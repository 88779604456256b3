import Dashboard
import Primitives
import XCTest

/// The presenter view, the side-by-side view, the big-digit font and the keys and commands that reach them.
final class StageViewTests: XCTestCase {
    static let caption = "The account system fails 30% of credits. Nobody sees an error: their money is on its way, and the retry workers keep trying until it lands."

    static var stageSnapshot: DashboardSnapshot {
        var snapshot = Fixture.snapshot
        snapshot.scenario = ScenarioStatus(name: "Lightning", step: 2, stepCount: 5, caption: caption, paused: true)
        snapshot.header.caption = caption
        snapshot.header.scenarioPaused = true
        snapshot.comparison = Comparison(
            queue: ComparisonHalf(mode: .queue, opensPerSecond: 2_497.6, opens: 61_204, usersWithError: 0, rollbacks: 0,
                                  onItsWayCount: 1_317, onItsWayAmount: Money(minorUnits: 1_234_567), creditP50: .milliseconds(420),
                                  creditP99: .milliseconds(2_460), conservation: .ok, updatesPerSecond: 9, replicas: snapshot.queue.replicas),
            transaction: ComparisonHalf(mode: .transaction, opensPerSecond: 1_749.6, failedOpensPerSecond: 750.4, opens: 43_870, usersWithError: 17_342, rollbacks: 17_342,
                                        onItsWayCount: 0, onItsWayAmount: .zero, creditP50: .milliseconds(93), creditP99: .milliseconds(253), conservation: .ok, updatesPerSecond: 8))
        return snapshot
    }

    private func render(_ view: DashboardView, width: Int, height: Int, options: RenderOptions = RenderOptions(),
                        snapshot: DashboardSnapshot = StageViewTests.stageSnapshot) -> CellBuffer {
        var model = Fixture.model(width: width, height: height)
        model.view = view
        return Fixture.render(model, width: width, height: height, options: options, snapshot: snapshot)
    }

    /// The rows (top to bottom) on which a column range holds block glyphs.
    private func inkRows(_ buffer: CellBuffer, ink: Character = "█") -> [Int] {
        (0..<buffer.height).filter { y in (0..<buffer.width).contains { buffer[$0, y].character == ink } }
    }

    func testAScaledDownScenarioSaysItsLoadBesideItsStep() {
        var snapshot = StageViewTests.stageSnapshot
        XCTAssertTrue(render(.presenter, width: 120, height: 40, snapshot: snapshot).text().contains("Lightning · step 2/5 "))
        XCTAssertFalse(render(.presenter, width: 120, height: 40, snapshot: snapshot).text().contains("% load"))
        snapshot.scenario?.loadPercent = 20
        // The captions' figures are the scenario's full rates: the step line says that a fifth of them runs.
        XCTAssertTrue(render(.presenter, width: 120, height: 40, snapshot: snapshot).text().contains("Lightning · step 2/5 at 20 % load"))
        XCTAssertTrue(render(.compare, width: 120, height: 40, snapshot: snapshot).text().contains("Lightning step 2/5 at 20 % load"))
        XCTAssertTrue(render(.presenter, width: 80, height: 24, options: RenderOptions(unicode: false), snapshot: snapshot)
            .text().contains("Lightning - step 2/5 at 20 % load"))
    }

    func testPresenterAt120x40ShowsThreeBigNumbersCaptionAndTiles() {
        let buffer = render(.presenter, width: 120, height: 40)
        let text = buffer.text()
        SnapshotFile.assertMatches(text, named: "presenter-120x40")
        for label in ["opens per second", "users who saw an error", "money on its way (1,317 credits)"] {
            XCTAssertTrue(text.contains(label), label)
        }
        // Three bands of digits, each at least five rows high.
        let rows = inkRows(buffer)
        var bands: [[Int]] = []
        for row in rows {
            if let last = bands.last?.last, last == row - 1 { bands[bands.count - 1].append(row) } else { bands.append([row]) }
        }
        let digitBands = bands.filter { band in band.allSatisfy { y in !text.split(separator: "\n", omittingEmptySubsequences: false)[y].contains("replica") } }
        XCTAssertEqual(digitBands.count, 3, "\(bands)")
        XCTAssertTrue(digitBands.allSatisfy { $0.count >= BigDigits.height }, "\(digitBands)")
        // The whole caption is there, wrapped on words, with the step and a PAUSED badge.
        let flat = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        XCTAssertTrue(flat.contains(Self.caption), flat)
        XCTAssertTrue(text.contains("Lightning · step 2/5  PAUSED"))
        // Replica tiles: reversed blocks with the state in words.
        XCTAssertTrue(text.contains("▲ UP") && text.contains("▼ DOWN") && text.contains("◐ SLOW"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let tileRow = lines.firstIndex { $0.contains("▼ DOWN") }!
        let column = DisplayWidth.of(String(lines[tileRow][..<lines[tileRow].firstIndex(of: "▼")!]))
        XCTAssertTrue(buffer[column, tileRow].style.reverse)
        XCTAssertEqual(buffer[column, tileRow].style.foreground, .error)
    }

    func testPresenterAt80x24KeepsEverythingOnScreenWithFewerDetails() {
        let buffer = render(.presenter, width: 80, height: 24)
        let text = buffer.text()
        SnapshotFile.assertMatches(text, named: "presenter-80x24")
        XCTAssertTrue(text.contains("opens per second") && text.contains("users who saw an error"))
        XCTAssertTrue(text.contains("replica b"))
        XCTAssertTrue(text.split(separator: "\n", omittingEmptySubsequences: false).allSatisfy { DisplayWidth.of(String($0)) <= 80 })
    }

    func testPresenterWithoutUnicodeOrColourStillReads() {
        let buffer = render(.presenter, width: 120, height: 40, options: RenderOptions(unicode: false, color: false))
        let text = buffer.text()
        XCTAssertFalse(text.contains("█"))
        XCTAssertGreaterThanOrEqual(inkRows(buffer, ink: "#").count, 15)
        XCTAssertTrue(text.contains("v DOWN") && text.contains("+ UP"))
        // Digits are bold; tiles are reversed: both survive without colour.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let digitRow = inkRows(buffer, ink: "#").first!
        let x = DisplayWidth.of(String(lines[digitRow].prefix { $0 != "#" }))
        XCTAssertTrue(buffer[x, digitRow].style.bold)
        XCTAssertTrue(text.allSatisfy { $0.isASCII || $0 == "\n" }, "only ASCII without UTF-8")
    }

    func testCompareAt120x40ShowsBothHalves() {
        let text = render(.compare, width: 120, height: 40).text()
        SnapshotFile.assertMatches(text, named: "compare-120x40")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let errors = lines.first { $0.contains("│ users who saw an error") }.map(String.init) ?? ""
        XCTAssertTrue(errors.contains(" 0 │") && errors.contains("17,342"), errors)
        XCTAssertEqual(lines.filter { $0.contains("✓ balanced") }.count, 1)
        XCTAssertEqual(lines.first { $0.contains("✓ balanced") }?.components(separatedBy: "✓ balanced").count, 3, "both halves balanced")
        // Opens done and opens failed: together the load each half carries, so a failing half does not look idle.
        let failed = lines.first { $0.contains("│ failed opens/s") }.map(String.init) ?? ""
        XCTAssertTrue(failed.contains(" 0 │") && failed.contains("750"), failed)
        for label in ["opens/s", "rollbacks", "on its way", "time to credit p50/p99", "updates/s"] {
            XCTAssertTrue(text.contains(label), label)
        }
        XCTAssertTrue(text.contains("1,317 · ¥12,345.67"))
        XCTAssertTrue(text.contains("420ms / 2.46s"))
        // A half with no credit landed in the window has no time to credit: a dash, not "0µs".
        var quiet = StageViewTests.stageSnapshot
        quiet.comparison?.transaction.creditP50 = nil
        quiet.comparison?.transaction.creditP99 = nil
        let row = render(.compare, width: 120, height: 40, snapshot: quiet).text().split(separator: "\n")
            .first { $0.contains("time to credit p50/p99") }.map(String.init) ?? ""
        XCTAssertTrue(row.contains("420ms / 2.46s") && row.contains("— / —") && !row.contains("0µs"), row)
    }

    func testCompareAt80x24FitsWithFewerDetails() {
        let text = render(.compare, width: 80, height: 24).text()
        SnapshotFile.assertMatches(text, named: "compare-80x24")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 24)
        XCTAssertTrue(lines.allSatisfy { DisplayWidth.of(String($0)) <= 80 })
        XCTAssertTrue(text.contains("QUEUE") && text.contains("TRANSACTION"))
        let errors = lines.first { $0.contains("│ users who saw an error") }.map(String.init) ?? ""
        XCTAssertTrue(errors.contains(" 0 │") && errors.contains("17,342"), errors)
    }

    func testCompareBeforeTheSecondEngineRunsSaysSo() {
        var snapshot = Self.stageSnapshot
        snapshot.comparison = nil
        XCTAssertTrue(render(.compare, width: 80, height: 24, snapshot: snapshot).text().contains("starting the second engine (transaction mode)"))
    }

    func testBigDigitsAreFiveRowsAndDistinct() {
        let digits = "0123456789"
        var seen = Set<[String]>()
        for digit in digits {
            let rows = BigDigits.rows(of: String(digit))
            XCTAssertEqual(rows.count, 5)
            XCTAssertTrue(rows.allSatisfy { $0.count == BigDigits.width(of: String(digit)) })
            XCTAssertTrue(rows.joined().contains("#"))
            seen.insert(rows)
        }
        XCTAssertEqual(seen.count, 10)
        XCTAssertEqual(BigDigits.width(of: "1,0"), 5 + 1 + 2 + 1 + 5)
        XCTAssertTrue(BigDigits.canDraw("¥12,345.67") && BigDigits.canDraw("12.3k%"))
        XCTAssertFalse(BigDigits.canDraw("12a"))
    }

    func testWrapKeepsWordsWholeAndBreaksLongOnes() {
        // The presenter wraps its caption with the dashboard's caption wrapping: a long caption is never cut.
        var snapshot = Self.stageSnapshot
        snapshot.scenario?.caption = String(repeating: "恭喜发财万事如意 ", count: 20)
        let text = render(.presenter, width: 120, height: 40, snapshot: snapshot).text()
        XCTAssertEqual(text.components(separatedBy: "恭喜发财万事如意").count - 1, 20)
    }

    // MARK: Keys and commands

    private let update = DashboardUpdate()

    private func press(_ key: Key, _ model: DashboardModel) -> (DashboardModel, [DashboardEffect]) {
        update.update(model, .key(key), snapshot: Fixture.snapshot, now: Fixture.now)
    }

    func testVTogglesThePresenterView() {
        let (presenter, effects) = press(.character("v"), Fixture.model(width: 120, height: 40))
        XCTAssertEqual(presenter.view, .presenter)
        XCTAssertEqual(effects, [])
        XCTAssertEqual(press(.character("v"), presenter).0.view, .panes)
    }

    func testCStartsAndRestsTheComparison() {
        let (compare, effects) = press(.character("c"), Fixture.model(width: 120, height: 40))
        XCTAssertEqual(compare.view, .compare)
        XCTAssertEqual(effects, [.perform(.compare(true))])
        let (back, leaving) = press(.character("c"), compare)
        XCTAssertEqual(back.view, .panes)
        XCTAssertEqual(leaving, [.perform(.compare(false))])
        // From the comparison straight to the presenter view also rests the second engine.
        XCTAssertEqual(press(.character("v"), compare).1, [.perform(.compare(false))])
    }

    func testScenarioKeysStepTheCaptions() {
        let model = Fixture.model(width: 120, height: 40)
        XCTAssertEqual(press(.character("n"), model).1, [.perform(.scenarioStep(.next))])
        XCTAssertEqual(press(.character("b"), model).1, [.perform(.scenarioStep(.previous))])
        XCTAssertEqual(press(.character(" "), model).1, [.perform(.toggleScenarioPause)])
    }

    func testCommandLineReachesTheViewsAndTheScenario() {
        let parser = CommandLineParser()
        XCTAssertEqual(try parser.parse("presenter").get(), .view(.presenter))
        XCTAssertEqual(try parser.parse("compare").get(), .view(.compare))
        XCTAssertEqual(try parser.parse("compare off").get(), .view(.panes))
        XCTAssertEqual(try parser.parse("view panes").get(), .view(.panes))
        XCTAssertEqual(try parser.parse("scenario next").get(), .engine(.scenarioStep(.next)))
        XCTAssertEqual(try parser.parse("scenario prev").get(), .engine(.scenarioStep(.previous)))
        XCTAssertEqual(try parser.parse("scenario restart").get(), .engine(.scenarioStep(.restart)))
        XCTAssertEqual(try parser.parse("scenario pause").get(), .engine(.toggleScenarioPause))
        guard case .failure(let error) = parser.parse("view sideways") else { return XCTFail("accepted a bad view") }
        XCTAssertEqual(error.message, "view: unknown action 'sideways' (panes, presenter, compare)")
        guard case .failure = parser.parse("scenario sideways") else { return XCTFail("accepted a bad step") }
        // Typed at the `:` prompt, `compare` switches the view and starts the second engine.
        var model = Fixture.model(width: 120, height: 40)
        model.overlay = .commandLine(text: "compare", historyIndex: nil)
        let (after, effects) = update.update(model, .key(.enter), snapshot: Fixture.snapshot, now: Fixture.now)
        XCTAssertEqual(after.view, .compare)
        XCTAssertEqual(effects, [.perform(.compare(true))])
    }

    func testAScenarioStepThatNamesAViewSwitchesToItOnce() {
        let model = Fixture.model(width: 120, height: 40)
        let step3 = ScenarioStatus(name: "Gala", step: 3, stepCount: 5, caption: "side by side", view: .compare)
        let (followed, effects) = update.follow(model, previous: nil, current: step3, now: Fixture.now)
        XCTAssertEqual(followed.view, .compare)
        XCTAssertEqual(effects, [.perform(.compare(true))])
        // The operator leaves with `c`; neither the same step nor a later one asking the same view pulls it back.
        var left = followed
        left.view = .panes
        XCTAssertEqual(update.follow(left, previous: step3, current: step3, now: Fixture.now).0.view, .panes)
        let step4 = ScenarioStatus(name: "Gala", step: 4, stepCount: 5, caption: "", view: .compare)
        XCTAssertEqual(update.follow(left, previous: step3, current: step4, now: Fixture.now).0.view, .panes)
        // Going back a step applies its view again.
        XCTAssertEqual(update.follow(left, previous: step4, current: step3, now: Fixture.now).0.view, .compare)
        // A step that names no view leaves the view alone.
        let plain = ScenarioStatus(name: "Gala", step: 4, stepCount: 5, caption: "", view: nil)
        XCTAssertEqual(update.follow(left, previous: step3, current: plain, now: Fixture.now).0.view, .panes)
        // The next step that asks for the presenter gets it, and the second engine rests.
        let step5 = ScenarioStatus(name: "Gala", step: 5, stepCount: 5, caption: "", view: .presenter)
        let (presenter, resting) = update.follow(followed, previous: plain, current: step5, now: Fixture.now)
        XCTAssertEqual(presenter.view, .presenter)
        XCTAssertEqual(resting, [.perform(.compare(false))])
    }
}
