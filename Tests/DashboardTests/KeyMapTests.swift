import Dashboard
import Primitives
import XCTest

final class KeyMapTests: XCTestCase {
    private let update = DashboardUpdate()
    private let snapshot = Fixture.snapshot

    private func press(_ keys: Key..., model start: DashboardModel? = nil, snapshot: DashboardSnapshot? = nil) -> (DashboardModel, [DashboardEffect]) {
        var model = start ?? Fixture.model(width: 120, height: 40)
        var effects: [DashboardEffect] = []
        for key in keys {
            let (next, produced) = update.update(model, .key(key), snapshot: snapshot ?? self.snapshot, now: Fixture.now)
            model = next
            effects += produced
        }
        return (model, effects)
    }

    func testNoKeyIsBoundTwice() {
        var seen: [Key: String] = [:]
        for binding in KeyMap.standard.bindings {
            for key in binding.keys {
                XCTAssertNil(seen[key], "\(key.label) bound to both '\(seen[key] ?? "")' and '\(binding.description)'")
                seen[key] = binding.description
            }
        }
    }

    func testHelpOverlayListsEveryBinding() {
        var model = Fixture.model(width: 200, height: 60)
        model.overlay = .help(scroll: 0)
        let text = Fixture.render(model, width: 200, height: 60).text()
        for binding in KeyMap.standard.bindings {
            XCTAssertTrue(text.contains(binding.label), "help lacks key \(binding.label)")
            XCTAssertTrue(text.contains(String(binding.description.prefix(24))), "help lacks '\(binding.description)'")
        }
        XCTAssertEqual(DashboardRenderer().helpLines().filter { !$0.isHeading && !$0.key.isEmpty }.count, KeyMap.standard.bindings.count)
    }

    func testFooterHintsComeFromTheKeyMap() {
        let footer = Fixture.render(Fixture.model(width: 200, height: 60), width: 200, height: 60).text().split(separator: "\n").last ?? ""
        for binding in KeyMap.standard.bindings {
            guard let hint = binding.hint, let key = binding.keys.first else { continue }
            XCTAssertTrue(footer.contains("\(key.label) \(hint)"), "footer lacks \(key.label) \(hint)")
        }
    }

    func testQuitKeys() {
        XCTAssertEqual(press(.character("q")).1, [.quit])
        XCTAssertEqual(press(.control("c")).1, [.quit])
    }

    func testTooSmallScreenAnswersOnlyQuit() {
        let small = Fixture.model(width: 40, height: 10)
        XCTAssertEqual(press(.character("s"), model: small).0.overlay, nil)
        XCTAssertEqual(press(.character("G"), model: small).1, [])
        XCTAssertEqual(press(.character("q"), model: small).1, [.quit])
    }

    func testEachEngineKeyProducesItsCommand() {
        let expectations: [(Key, DashboardCommand)] = [
            (.character("G"), .gala(.stop)),  // the sample's load is running
            (.character(">"), .gala(.faster)),
            (.character("<"), .gala(.slower)),
            (.character("f"), .setCreditFailureRate(percent: 100)),  // sample is at 30 %
            (.character("L"), .setLedgerLatency(milliseconds: 200)),  // sample is at 50 ms
            (.character("m"), .setCreditMode(.transaction)),
            (.character("P"), .workers(.resume)),  // one sample worker is paused
            (.character("C"), .workers(.crash)),
            (.character("R"), .workers(.restart)),
            (.character("D"), .redriveDeadLetters),
            (.character(" "), .toggleScenarioPause),
            (.character("o"), .grabAndOpen(packet: nil, user: nil)),
            (.character("d"), .replica(name: "a", action: .down)),
            (.character("w"), .replica(name: "a", action: .slow)),
            (.character("r"), .replica(name: "a", action: .restore)),
        ]
        for (key, command) in expectations {
            XCTAssertEqual(press(key).1, [.perform(command)], "key \(key.label)")
        }
    }

    func testTogglesUndoThemselvesAgainstTheSnapshot() {
        var quiet = Fixture.snapshot
        quiet.faults = FaultSettings()
        quiet.header.creditMode = .transaction
        quiet.retries.workers = [WorkerStatus(name: "w1", state: .running)]
        XCTAssertEqual(press(.character("G"), snapshot: quiet).1, [.perform(.gala(.start(ratePerSecond: nil)))])
        XCTAssertEqual(press(.character("f"), snapshot: quiet).1, [.perform(.setCreditFailureRate(percent: 30))])
        XCTAssertEqual(press(.character("m"), snapshot: quiet).1, [.perform(.setCreditMode(.queue))])
        XCTAssertEqual(press(.character("P"), snapshot: quiet).1, [.perform(.workers(.pause))])
        var full = Fixture.snapshot
        full.faults.creditFailurePercent = 100
        XCTAssertEqual(press(.character("f"), snapshot: full).1, [.perform(.setCreditFailureRate(percent: 0))])
    }

    func testReplicaKeysActOnTheSelectedReplica() {
        let (model, _) = press(.character("3"), .character("j"))
        XCTAssertEqual(model.selected(.queue), 1)
        XCTAssertEqual(press(.character("d"), model: model).1, [.perform(.replica(name: "b", action: .restore))], "b is down: d brings it up")
        let (confirming, effects) = press(.character("x"), model: model)
        XCTAssertEqual(effects, [])
        XCTAssertEqual(confirming.overlay, .confirm(question: "Corrupt replica b? Its copy must then be rebuilt.", command: .replica(name: "b", action: .corrupt)))
        XCTAssertEqual(press(.character("y"), model: confirming).1, [.perform(.replica(name: "b", action: .corrupt))])
        let (cancelled, none) = press(.character("n"), model: confirming)
        XCTAssertEqual(none, [])
        XCTAssertNil(cancelled.overlay)
        XCTAssertEqual(press(.enter, model: confirming).1, [], "Enter does not confirm a destructive action")
    }

    /// F asks first (it kills the primary), then sends the failover; n or Enter sends nothing.
    func testTheFailoverKeyAsksThenFailsOver() {
        let (confirming, effects) = press(.character("F"))
        XCTAssertEqual(effects, [])
        XCTAssertEqual(confirming.overlay, .confirm(question: "Fail over? The primary is killed and a standby promoted.", command: .failover))
        XCTAssertEqual(press(.character("y"), model: confirming).1, [.perform(.failover)])
        XCTAssertEqual(press(.character("n"), model: confirming).1, [])
        XCTAssertEqual(press(.enter, model: confirming).1, [], "Enter does not confirm a destructive action")
    }

    /// With the queue pane focused its fault keys come first in the footer (help and quit aside): at 120
    /// columns they used to fall off the end of the line.
    func testTheQueuePanesFaultKeysShowInTheFooterWhenItIsFocused() {
        let (focused, _) = press(.character("3"))
        let footer = Fixture.render(focused, width: 120, height: 40).text().split(separator: "\n").last ?? ""
        for hint in ["d down", "w slow", "r back up", "F failover"] {
            XCTAssertTrue(footer.contains(hint), "footer lacks \(hint): \(footer)")
        }
        XCTAssertTrue(footer.hasPrefix(" ? help q quit"), String(footer))
        let (elsewhere, _) = press(.character("1"))
        let otherFooter = Fixture.render(elsewhere, width: 120, height: 40).text().split(separator: "\n").last ?? ""
        XCTAssertTrue(otherFooter.contains("s send"), String(otherFooter))
    }

    func testGrabOpensTheSelectedPacketWhenPacketsAreFocused() {
        XCTAssertEqual(press(.character("2"), .character("j"), .character("j"), .character("o")).1,
                       [.perform(.grabAndOpen(packet: PacketID("p2038"), user: nil))])
    }

    func testNavigation() {
        XCTAssertEqual(press(.tab).0.focus, .packets)
        XCTAssertEqual(press(.character("l")).0.focus, .packets)
        XCTAssertEqual(press(.backTab).0.focus, .events)
        XCTAssertEqual(press(.character("h")).0.focus, .events)
        XCTAssertEqual(press(.character("5")).0.focus, .faults)
        for pane in PaneID.allCases {
            XCTAssertEqual(press(.character(Character("\(pane.rawValue)"))).0.focus, pane)
        }
        let (down, _) = press(.character("j"), .down, .down)
        XCTAssertEqual(down.selected(.accounts), 3)
        XCTAssertEqual(press(.character("k"), model: down).0.selected(.accounts), 2)
        XCTAssertEqual(press(.up, .up).0.selected(.accounts), 0, "selection stops at the top")
        let (bottom, _) = press(.pageDown, .pageDown, .pageDown)
        XCTAssertEqual(bottom.selected(.accounts), Fixture.snapshot.accounts.top.count - 1, "selection stops at the bottom")
    }

    func testFreezeRefreshThemeRedrawHelp() {
        XCTAssertTrue(press(.character("p")).0.frozen)
        XCTAssertFalse(press(.character("p"), .character("p")).0.frozen)
        XCTAssertEqual(press(.character("+")).1, [.setRefresh(milliseconds: 50)])
        XCTAssertEqual(press(.character("-")).1, [.setRefresh(milliseconds: 200)])
        XCTAssertEqual(press(.character("-"), .character("-")).0.refreshMilliseconds, 300)
        XCTAssertEqual(press(.character("t")).1, [.applyTheme(index: 1)])
        XCTAssertEqual(press(.character("t"), .character("t")).1.last, .applyTheme(index: 0))
        XCTAssertEqual(press(.control("l")).1, [.redraw])
        XCTAssertEqual(press(.character("?")).0.overlay, .help(scroll: 0))
        XCTAssertNil(press(.character("?"), .escape).0.overlay)
        XCTAssertEqual(press(.character("?"), .character("q")).1, [], "q closes help instead of quitting")
    }

    func testCommandLineSendsAndReportsErrors() {
        let typed = Array("send alice 100 --shares 10").map { Key.character($0) }
        let (_, effects) = press(.character(":"), model: nil)
        XCTAssertEqual(effects, [])
        var model = press(.character(":")).0
        for key in typed { model = update.update(model, .key(key), snapshot: snapshot, now: Fixture.now).0 }
        let (after, sent) = update.update(model, .key(.enter), snapshot: snapshot, now: Fixture.now)
        XCTAssertEqual(sent, [.perform(.send(PacketRequest(sender: "alice", amount: Money(yuan: 100), kind: .lucky(shares: 10))))])
        XCTAssertEqual(after.commandHistory, ["send alice 100 --shares 10"])
        XCTAssertNil(after.overlay)

        var bad = press(.character(":")).0
        for key in Array("sned x").map({ Key.character($0) }) { bad = update.update(bad, .key(key), snapshot: snapshot, now: Fixture.now).0 }
        let (failed, none) = update.update(bad, .key(.enter), snapshot: snapshot, now: Fixture.now)
        XCTAssertEqual(none, [])
        XCTAssertEqual(failed.status?.text, "unknown command 'sned' (try :help)")
        XCTAssertEqual(failed.status?.severity, .error)

        var tooMuch = press(.character(":")).0
        for key in Array("send alice 300 --to bob").map({ Key.character($0) }) { tooMuch = update.update(tooMuch, .key(key), snapshot: snapshot, now: Fixture.now).0 }
        let (rejected, nothing) = update.update(tooMuch, .key(.enter), snapshot: snapshot, now: Fixture.now)
        XCTAssertEqual(nothing, [])
        XCTAssertEqual(rejected.status?.text, "send: amount above the limit of ¥200.00")

        let recalled = update.update(after, .key(.character(":")), snapshot: snapshot, now: Fixture.now).0
        XCTAssertEqual(update.update(recalled, .key(.up), snapshot: snapshot, now: Fixture.now).0.overlay,
                       .commandLine(text: "send alice 100 --shares 10", historyIndex: 0))
    }

    func testFormValidatesAndSends() {
        var model = press(.character("s")).0
        guard case .form(let form)? = model.overlay else { return XCTFail("form not open") }
        XCTAssertEqual(form.focused, .amount)
        for key in Array("8.3x").map({ Key.character($0) }) { model = update.update(model, .key(key), snapshot: snapshot, now: Fixture.now).0 }
        let (stillOpen, none) = update.update(model, .key(.enter), snapshot: snapshot, now: Fixture.now)
        XCTAssertEqual(none, [])
        guard case .form(let invalid)? = stillOpen.overlay else { return XCTFail("form closed on an invalid amount") }
        XCTAssertEqual(invalid.firstError(validator: PacketRequestValidator())?.field, .amount)
        model = update.update(stillOpen, .key(.backspace), snapshot: snapshot, now: Fixture.now).0
        model = update.update(model, .key(.character("7")), snapshot: snapshot, now: Fixture.now).0
        let (closed, sent) = update.update(model, .key(.enter), snapshot: snapshot, now: Fixture.now)
        XCTAssertNil(closed.overlay)
        XCTAssertEqual(sent, [.perform(.send(PacketRequest(sender: "alice", amount: Money(minorUnits: 837), kind: .lucky(shares: 10), greeting: "恭喜发财")))])
        XCTAssertEqual(closed.pendingCommands, 1)
    }

    func testFormSharesOutOfRangeAndPersonalKind() {
        var form = SendForm(amount: "100", shares: "101")
        let validator = PacketRequestValidator()
        XCTAssertEqual(form.error(for: .shares, validator: validator), "101 shares: must be 1–100")
        form.shares = "10"
        form.amount = "0.05"
        XCTAssertEqual(form.error(for: .amount, validator: validator), "at least ¥0.10 for that many shares")
        var model = Fixture.model(width: 120, height: 40)
        model.overlay = .form(SendForm(amount: "5", focused: .kind))
        model = update.update(model, .key(.left), snapshot: snapshot, now: Fixture.now).0
        guard case .form(let personal)? = model.overlay else { return XCTFail("form closed") }
        XCTAssertEqual(personal.kind, .personal)
        XCTAssertEqual(personal.visibleFields, [.kind, .sender, .recipient, .amount, .greeting])
        XCTAssertNil(personal.validRequest(validator: validator).flatMap { try? $0.get() }, "no recipient yet")
    }

    func testFilterNarrowsTheFocusedList() {
        let (filtered, _) = press(.character("/"), .character("李"))
        XCTAssertEqual(filtered.filters[.accounts], "李")
        XCTAssertEqual(filtered.overlay, .filter(text: "李"))
        let text = Fixture.render(filtered, width: 120, height: 40).text()
        XCTAssertTrue(text.contains("1 Accounts · 10,042 accounts /李"))
        XCTAssertTrue(text.contains("║ 李娜"))
        XCTAssertFalse(text.contains("║ alice"), "rows without the text are hidden")
        XCTAssertEqual(text.split(separator: "\n").last, "/李█")
        let (kept, _) = press(.enter, model: filtered)
        XCTAssertNil(kept.overlay)
        XCTAssertEqual(kept.filters[.accounts], "李")
        XCTAssertEqual(press(.character("j"), .character("j"), model: kept, snapshot: snapshot.answering(kept.listQuery())).0.selected(.accounts), 0,
                       "selection is bounded by the filtered rows the backend answered")
        let (cleared, _) = press(.character("/"), .escape, model: kept)
        XCTAssertNil(cleared.filters[.accounts])
        let (queue, _) = press(.character("3"), .character("/"))
        XCTAssertNil(queue.overlay)
        XCTAssertEqual(queue.status?.text, "Credit queue has no list to filter")
    }

    func testCommandResultsReachTheStatusLine() {
        var model = press(.character("D")).0
        XCTAssertEqual(model.pendingCommands, 1)
        model = update.update(model, .commandFinished(.redriveDeadLetters, .failure(.rejected("no dead letters"))), snapshot: snapshot, now: Fixture.now).0
        XCTAssertEqual(model.pendingCommands, 0)
        XCTAssertEqual(model.status, StatusMessage(text: "no dead letters", severity: .error, expiresAt: Fixture.now + StatusMessage.lifetime))
    }
}
