import Dashboard
import Primitives
import XCTest

/// What the screen says is true: one word per thing, every number in one format, no amount ever cut.
final class WordingTests: XCTestCase {
    private func text(_ snapshot: DashboardSnapshot, width: Int = 120, height: Int = 40, focus: PaneID = .accounts) -> String {
        Fixture.render(Fixture.model(width: width, height: height, focus: focus), width: width, height: height,
                       snapshot: snapshot).text()
    }

    func testASoldOutPacketSaysHowManySharesWereOpenedAndGrabbed() {
        var snapshot = Fixture.snapshot
        snapshot.packets.recent = [PacketRow(id: PacketID("p1"), sender: "alice", kind: .lucky, total: Money(minorUnits: 10_000),
                                             shares: 10, grabbed: 10, opened: 0, state: .soldOut, expiresIn: .seconds(90))]
        let screen = text(snapshot)
        XCTAssertTrue(screen.contains("Opened Grabbed State"), screen)
        XCTAssertTrue(screen.contains("0/10   10/10 sold out"), "not \"0/10 sold out\"")
    }

    /// A database server that takes writes beside the primary says so, at both sizes, and is not counted up.
    func testASplitBrainServerIsNeitherUpNorInSync() {
        var snapshot = Fixture.snapshot
        snapshot.queue.writeQuorum = 2
        snapshot.queue.replicas = [
            ReplicaStatus(name: "a", state: .up, lagUnit: "B", detail: ["primary", "lsn 0/4000060"], takesWrites: true),
            ReplicaStatus(name: "b", state: .splitBrain, lagUnit: "B", detail: ["timeline 2, a on 1"],
                          takesWrites: false),
            ReplicaStatus(name: "c", state: .up, lagUnit: "B", detail: ["standby", "lag 0 B", "quorum"], takesWrites: true),
        ]
        for (width, height) in [(120, 40), (80, 24)] {
            let screen = text(snapshot, width: width, height: height, focus: .queue)
            XCTAssertTrue(screen.split(separator: "\n").contains { $0.contains("b ✗ SPLIT BRAIN") || $0.contains("b ✕ SPLIT BRAIN") },
                          "\(width)×\(height):\n\(screen)")
            XCTAssertTrue(screen.contains("2/3 up"), "\(width)×\(height):\n\(screen)")
        }
        XCTAssertTrue(text(snapshot, width: 80, height: 24, focus: .queue).contains("SPLIT BRAIN timeline 2, a on 1"))
    }

    func testInSyncOnlyWhenNoReplicaTakingWritesLags() {
        var snapshot = Fixture.snapshot
        snapshot.queue.replicas = ["a", "b", "c"].map { ReplicaStatus(name: $0, state: .up, lastSequence: 1_000, lag: 0) }
        XCTAssertTrue(text(snapshot).contains("3/3 up, in sync"))
        snapshot.queue.replicas[1].lag = 704
        let lagging = text(snapshot)
        XCTAssertFalse(lagging.contains("in sync"), "a replica 704 behind is not in sync")
        XCTAssertTrue(lagging.contains("3/3 up, lag 704"))
    }

    /// A database cluster's servers lag in WAL bytes, not in sequence numbers: the pane's summary says the unit.
    func testAClustersLagIsWrittenInBytes() {
        var snapshot = Fixture.snapshot
        snapshot.queue.replicas = [
            ReplicaStatus(name: "a", state: .up, detail: ["primary", "lsn 7/CBBE81D0"], takesWrites: true),
            ReplicaStatus(name: "b", state: .up, lag: 35_144, lagUnit: "B",
                          detail: ["standby", "lag 35,144 B", "quorum", "lsn 7/CBBE81D0", "replay 0.4 ms"], takesWrites: true),
            ReplicaStatus(name: "c", state: .up, lag: 904, lagUnit: "B",
                          detail: ["standby", "lag 904 B", "quorum", "lsn 7/CBBE81D0", "replay 0.3 ms"], takesWrites: true),
        ]
        let screen = text(snapshot)
        XCTAssertTrue(screen.contains("3/3 up, lag 35,144 B"), screen)
        // Each server's row: whole phrases as far as they fit, never one cut ("lag …").
        for (width, height) in [(80, 24), (120, 40), (250, 70)] {
            // The queue pane's part of each line (the panes are drawn side by side between box lines).
            let rows = text(snapshot, width: width, height: height, focus: .queue).split(separator: "\n")
                .flatMap { $0.split(whereSeparator: { "│║".contains($0) }) }
                .filter { $0.contains("standby") }
            XCTAssertEqual(rows.count, 2, "\(width)x\(height)")
            for row in rows {
                XCTAssertTrue(row.contains("lag 35,144 B") || row.contains("lag 904 B"), "\(width)x\(height): \(row)")
                XCTAssertFalse(row.contains("…"), "\(width)x\(height): \(row)")
            }
        }
        var model = Fixture.model(width: 120, height: 40)
        model.view = .presenter
        let stage = Fixture.render(model, width: 120, height: 40, snapshot: snapshot).text()
        XCTAssertTrue(stage.contains("server b") && stage.contains("35,144 B behind"), stage)
        XCTAssertEqual(stage.split(separator: "\n").filter { $0.contains("primary") }.count, 1, "the primary's tile says so: \(stage)")
        XCTAssertEqual(stage.split(separator: "\n").filter { $0.contains("in sync") }.count, 0, stage)
        XCTAssertFalse(stage.contains("replica b"), stage)
    }

    func testTimeoutsAreTheirOwnNumberBesideCreditFailures() {
        var snapshot = Fixture.snapshot
        snapshot.faults.creditFailurePercent = 0
        snapshot.faults.creditTimeouts = 4_321
        for (width, height) in [(80, 24), (120, 40), (250, 70)] {
            let line = text(snapshot, width: width, height: height).split(separator: "\n").first { $0.contains("failures") } ?? ""
            XCTAssertTrue(line.contains("0%") && line.contains("timeouts 4,321"), "\(width)x\(height): \(line)")
        }
    }

    func testTheRetryPolicyIsSaidWholeInTheWordsThatFitNeverCutOff() {
        var snapshot = Fixture.snapshot
        snapshot.retries.policy = RetryPolicy(base: .milliseconds(200), cap: .seconds(30), deadLetterAfter: 10)
        snapshot.retries.succeeded = 12_345
        let forms = [
            "backoff full jitter, base 200 ms, cap 30 s, DLQ after 10",
            "backoff 200 ms…30 s, DLQ after 10",
            "200ms…30s DLQ 10",
        ]
        var seen = Set<String>()
        for (width, height) in [(80, 24), (120, 40), (160, 40), (250, 70)] {
            let line = text(snapshot, width: width, height: height, focus: .retries).split(separator: "\n")
                .first { $0.contains("succeeded after retry 12,345") }.map(String.init) ?? ""
            XCTAssertFalse(line.isEmpty, "\(width)x\(height): no retries line")
            // Either one whole form or none: "base 2…" is the cut this replaced.
            let shown = forms.first { line.contains($0) }
            if let shown { seen.insert(shown) }
            XCTAssertTrue(shown != nil || !line.contains("DLQ"), "\(width)x\(height): \(line)")
        }
        XCTAssertTrue(seen.count >= 2, "the pane's widths should show more than one form: \(seen)")
        XCTAssertEqual(RetryPolicy(base: .milliseconds(1_500), cap: .seconds(90), deadLetterAfter: 3).descriptions(unicode: false)[1],
                       "backoff 1500 ms..90 s, DLQ after 3", "1.5 s is not rounded to 1 s")
    }

    func testAPaneTitleGivesItsFigureWholeOrNotAtAll() {
        var snapshot = Fixture.snapshot
        snapshot.accounts.totalAccounts = 1_234_567_890
        for (width, height) in [(80, 24), (100, 30), (120, 40), (250, 70)] {
            for unicode in [true, false] {
                let rendered = Fixture.render(Fixture.model(width: width, height: height), width: width, height: height,
                                              options: RenderOptions(unicode: unicode, color: false), snapshot: snapshot).text()
                let dot = unicode ? "·" : "-"
                let titles = rendered.split(separator: "\n").filter { $0.contains("Faults & modes") || $0.contains("Accounts") }
                for line in titles {
                    for (name, figure) in [("5 Faults & modes", "mode queue"), ("1 Accounts", "1,234,567,890 accounts")]
                    where line.contains(name) {
                        let after = line.components(separatedBy: name)[1]
                        XCTAssertTrue(after.hasPrefix(" \(dot) \(figure) ") || !after.hasPrefix(" \(dot) "),
                                      "\(width)x\(height) unicode \(unicode): \(line)")
                    }
                }
            }
        }
    }

    func testAReplicasSequenceAndLagAreWholeOrShortNeverCut() {
        var snapshot = Fixture.snapshot
        snapshot.queue.replicas = [
            ReplicaStatus(name: "a", state: .up, lastSequence: 2_612_345, lag: 0),
            ReplicaStatus(name: "b", state: .catchingUp, lastSequence: 1_000_001, lag: 1_612_344),
            ReplicaStatus(name: "c", state: .up, lastSequence: 2_612_345, lag: 0),
        ]
        for (width, height) in [(80, 24), (100, 30), (120, 40), (250, 70)] {
            for unicode in [true, false] {
                let rendered = Fixture.render(Fixture.model(width: width, height: height, focus: .queue), width: width,
                                              height: height, options: RenderOptions(unicode: unicode, color: false),
                                              snapshot: snapshot).text()
                let rows = rendered.split(separator: "\n").filter { $0.contains(" lag ") && ($0.contains("UP") || $0.contains("CATCHING")) }
                XCTAssertEqual(rows.count, 3, "\(width)x\(height):\n\(rendered)")
                for row in rows {
                    let words = row.split(separator: " ")
                    for label in ["lag", "seq"] {
                        guard let index = words.firstIndex(of: Substring(label)), index + 1 < words.count else { continue }
                        let figure = String(words[index + 1])
                        XCTAssertTrue(["0", "2,612,345", "1,000,001", "1,612,344", "2.6M", "1.0M", "1.6M"].contains(figure),
                                      "\(width)x\(height) unicode \(unicode): \(label) \(figure) in \(row)")
                    }
                }
            }
        }
    }

    func testThePacketCountsAndTheBestLuckAmountAreNeverCut() {
        var snapshot = Fixture.snapshot
        snapshot.packets.opened = 987_654_321
        snapshot.packets.expired = 123_456_789
        // Also a name that the screen shows wider than it is: escaped, and in ASCII transliterated ("¥" → "CNY ").
        let names = ["非常非常非常非常非常非常长的名字-a-very-long-name-indeed", "\u{1b}]0;x\u{7}¥¥¥¥¥¥¥¥¥¥……………………-long"]
        for name in names {
            snapshot.packets.bestLuck = BestLuck(recipient: name,
                                                 amount: Money(minorUnits: 98_765_432_101), packet: PacketID("2s6ntgbdaz96"))
            for (width, height) in [(80, 24), (100, 30), (120, 40), (250, 70)] {
                for unicode in [true, false] {
                    let rendered = Fixture.render(Fixture.model(width: width, height: height), width: width, height: height,
                                                  options: RenderOptions(unicode: unicode, color: false), snapshot: snapshot).text()
                    let lines = rendered.split(separator: "\n")
                    let counts = lines.first { $0.contains("grabbed ") }.map(String.init) ?? ""
                    XCTAssertTrue(counts.contains("opened 987,654,321") || !counts.contains("opened"), "\(width)x\(height): \(counts)")
                    XCTAssertTrue(counts.contains("expired 123,456,789") || !counts.contains("expired"), "\(width)x\(height): \(counts)")
                    let luck = lines.first { $0.contains("best luck") }.map(String.init) ?? ""
                    XCTAssertTrue(luck.contains(unicode ? "¥987,654,321.01" : "CNY 987,654,321.01"), "\(width)x\(height): \(luck)")
                    XCTAssertFalse(luck.contains("\u{1b}"), "\(width)x\(height): \(luck)")
                }
            }
        }
    }

    func testTheLatencyKnobHasOneName() {
        let screens = [text(Fixture.snapshot), text(Fixture.snapshot, width: 200, height: 60)]
        var help = Fixture.model(width: 120, height: 40)
        help.overlay = .help(scroll: 0)
        let everything = screens + [Fixture.render(help, width: 120, height: 40).text(),
                                    DashboardText.describe(.setLedgerLatency(milliseconds: 50))]
        for screen in everything {
            XCTAssertFalse(screen.contains("ledger latency") || screen.contains("ledger +") || screen.contains("system latency"), screen)
        }
        XCTAssertTrue(screens[0].contains("account latency +50 ms"))
        XCTAssertEqual(DashboardText.describe(.setLedgerLatency(milliseconds: 50)), "account latency +50 ms")
        XCTAssertEqual(DashboardText.describe(.replica(name: "b", action: .restore)), "replica b back up")
    }

    func testMoneyIsNeverCutOtherColumnsShrinkFirst() {
        var snapshot = Fixture.snapshot
        let rich = Money(minorUnits: 10_000_000_000)  // ¥100,000,000.00
        snapshot.accounts.top[0].balance = rich
        snapshot.accounts.top[1].waitingCredits = 3
        snapshot.accounts.top[1].waitingAmount = rich
        snapshot.accounts.totalWaitingAmount = rich
        snapshot.packets.recent[0].total = rich
        snapshot.retries.next[0].amount = rich
        for (width, height, focus) in [(80, 24, PaneID.accounts), (120, 40, .accounts), (120, 40, .retries), (80, 24, .packets)] {
            let screen = text(snapshot, width: width, height: height, focus: focus)
            XCTAssertFalse(screen.contains("¥100,000,00…") || screen.contains("¥100,000,000.…") || screen.contains("¥100,000,000…"),
                           "\(width)x\(height):\n\(screen)")
            XCTAssertTrue(screen.contains("¥100,000,000.00"), "\(width)x\(height):\n\(screen)")
        }
    }

    func testCountsHaveOneFormatOnOneScreen() {
        var snapshot = Fixture.snapshot
        snapshot.queue.visible = 8_831
        snapshot.queue.inFlight = 0
        snapshot.queue.delayed = 0
        snapshot.retries.attemptHistogram = [2_598, 3_669]
        let screen = text(snapshot, focus: .queue)
        XCTAssertTrue(screen.contains("Credit queue · depth 8,831"))
        XCTAssertTrue(screen.contains("depth 8,831 "), "the graph's label uses the same format")
        XCTAssertFalse(screen.contains("8831") || screen.contains("2598"))
        XCTAssertTrue(screen.contains("2,598") && screen.contains("3,669"))
    }
}
