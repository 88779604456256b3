import Dashboard
import Primitives
import XCTest

final class RobustnessTests: XCTestCase {
    func testZeroAndTinySizesNeverCrash() {
        for (width, height) in [(0, 0), (0, 24), (80, 0), (1, 1), (2, 2), (-5, -5), (79, 24), (80, 23), (10, 3)] {
            let buffer = Fixture.render(Fixture.model(width: width, height: height), width: width, height: height)
            XCTAssertEqual(buffer.width, max(0, width))
            XCTAssertEqual(buffer.height, max(0, height))
        }
        XCTAssertEqual(Fixture.render(Fixture.model(width: 0, height: 0), width: 0, height: 0).text(), "")
    }

    func testResizeStormWithEveryOverlay() {
        let overlays: [Overlay?] = [
            nil, .help(scroll: 99), .form(SendForm(amount: "1.234")), .commandLine(text: String(repeating: "王", count: 300), historyIndex: nil),
            .confirm(question: String(repeating: "corrupt? ", count: 40), command: .replica(name: "a", action: .corrupt)),
        ]
        let update = DashboardUpdate()
        var model = Fixture.model(width: 80, height: 24)
        var sizes = 0
        for overlay in overlays {
            model.overlay = overlay
            for width in stride(from: 0, through: 260, by: 13) {
                for height in stride(from: 0, through: 75, by: 7) {
                    model = update.update(model, .resize(width: width, height: height), snapshot: Fixture.snapshot, now: Fixture.now).0
                    let buffer = Fixture.render(model, width: width, height: height)
                    XCTAssertEqual(buffer.cells.count, width * height)
                    if width >= 80 && height >= 24 {
                        let text = buffer.text()
                        XCTAssertFalse(text.contains("terminal too small"))
                        for line in text.split(separator: "\n") {
                            XCTAssertLessThanOrEqual(DisplayWidth.of(String(line)), width)
                        }
                    }
                    sizes += 1
                }
            }
        }
        XCTAssertGreaterThan(sizes, 1_000)
    }

    /// A credit whose next try is already due (visible in the queue, no worker has taken it yet) says "now",
    /// not "0µs"; one the queue has no time for says "–".
    func testARetryAlreadyDueSaysNow() {
        var snapshot = Fixture.snapshot
        snapshot.retries.next[0].dueIn = .zero
        snapshot.retries.next[1].dueIn = nil
        let text = Fixture.render(Fixture.model(width: 120, height: 40, focus: .retries), width: 120, height: 40,
                                  snapshot: snapshot.answering(Fixture.model(width: 120, height: 40).listQuery())).text()
        let rows = text.split(separator: "\n").filter { $0.contains(snapshot.retries.next[0].claim.rawValue) }
        XCTAssertEqual(rows.count, 1, text)
        XCTAssertTrue(rows.first?.contains(" now ") ?? false, String(rows.first ?? ""))
        XCTAssertFalse(text.contains("0µs"), text)
    }

    func testEmptySnapshotRendersCalmly() {
        // Before the engine's first figures (`.empty`), the screen says so instead of drawing panes from defaults.
        let starting = Fixture.render(Fixture.model(width: 120, height: 40), width: 120, height: 40, snapshot: .empty).text()
        XCTAssertTrue(starting.contains("starting: waiting for the engine's first figures…"), starting)
        XCTAssertFalse(starting.contains("0 accounts") || starting.contains("DLQ 0"), starting)
        // A snapshot the engine sent with nothing in it yet (the whole-table counts not made yet).
        let nothing = DashboardSnapshot(takenAt: Fixture.now)
        let text = Fixture.render(Fixture.model(width: 120, height: 40), width: 120, height: 40, snapshot: nothing).text()
        XCTAssertTrue(text.contains("no accounts yet"))
        XCTAssertTrue(text.contains("no packets yet"))
        XCTAssertTrue(text.contains("landed on a retry: none yet"))
        XCTAssertTrue(text.contains("no events yet"))
        // Before the engine's first figures, what is not known yet is a dash: the first frame once read
        // "durability sync  up 20791d" (a default mode and an uptime from 1970), and the packet and account
        // counts 0 until the first whole-table count came in, whatever the store held.
        XCTAssertTrue(text.contains("durability —  up —"), text)
        XCTAssertTrue(text.contains("open —  grabbed —  opened —  expired —  expiring 0"), text)
        XCTAssertTrue(text.contains("2 Red packets · — open"), text)
        XCTAssertTrue(text.contains("— on their way —"), text)
        XCTAssertFalse(text.contains("20791d") || text.contains("sync"), text)
        var presenter = Fixture.model(width: 120, height: 40)
        presenter.view = .presenter
        let stage = Fixture.render(presenter, width: 120, height: 40, snapshot: nothing).text()
        XCTAssertTrue(stage.contains("money on its way\n") || stage.contains("money on its way "), stage)
        XCTAssertFalse(stage.contains("(0 credits)"), stage)
    }

    func testConservationViolationIsShownInWords() {
        var snapshot = Fixture.snapshot
        snapshot.header.conservation = .violated("off by ¥0.01")
        let text = Fixture.render(Fixture.model(width: 120, height: 40), width: 120, height: 40, snapshot: snapshot).text()
        XCTAssertTrue(text.contains("✗ VIOLATED: off by ¥0.01"))
        snapshot.queue.replicas = snapshot.queue.replicas.map { ReplicaStatus(name: $0.name, state: .down) }
        XCTAssertTrue(Fixture.render(Fixture.model(width: 120, height: 40), width: 120, height: 40, snapshot: snapshot).text().contains("✗ NO QUORUM"))
    }

    /// One copy left is in sync with nothing: the quorum line says there is no second copy, not "in sync".
    func testOneCopyLeftIsNotCalledInSync() {
        var snapshot = Fixture.snapshot
        snapshot.queue.replicas = snapshot.queue.replicas.enumerated().map { index, replica in
            ReplicaStatus(name: replica.name, state: index == 0 ? .up : .down)
        }
        let text = Fixture.render(Fixture.model(width: 120, height: 40), width: 120, height: 40, snapshot: snapshot).text()
        XCTAssertTrue(text.contains("1/3 up, no second copy"), text)
        XCTAssertFalse(text.contains("in sync"), text)
    }

    func testBenchmarkRuns() {
        let result = DashboardBenchmark.benchmarkRender(width: 200, height: 60, iterations: 3)
        XCTAssertEqual(result.iterations, 3)
        XCTAssertEqual(result.width, 200)
    }

    func testDurationsAndCounts() {
        XCTAssertEqual(DashboardText.duration(.microseconds(850)), "850µs")
        XCTAssertEqual(DashboardText.duration(.microseconds(3_150)), "3.1ms")
        XCTAssertEqual(DashboardText.duration(.milliseconds(41)), "41ms")
        XCTAssertEqual(DashboardText.duration(.milliseconds(12_400)), "12.40s")
        XCTAssertEqual(DashboardText.duration(.seconds(125)), "2m05s")
        XCTAssertEqual(DashboardText.duration(.seconds(3_720)), "1h02m")
        XCTAssertEqual(DashboardText.uptime(.seconds(3_723)), "01:02:03")
        XCTAssertEqual(DashboardText.timeOfDay(Fixture.now), "12:54:56")
        XCTAssertEqual(DashboardText.count(1_234_567), "1,234,567")
        XCTAssertEqual(DashboardText.rate(7.46), "7.5")
        // One format on one screen: below 100,000 a compact count is the grouped count ("depth 8,831" twice).
        XCTAssertEqual(DashboardText.compact(2_598), "2,598")
        XCTAssertEqual(DashboardText.compact(48_213), DashboardText.count(48_213))
        XCTAssertEqual(DashboardText.compact(148_213), "148.2k")
    }
}
