import Foundation
import Primitives
import TestKit
import XCTest

/// The bad-input table, run against the real binary: each gets one clear line on stderr, a
/// non-zero exit, no stack trace, and changes nothing (the audit's totals are identical before and after).
final class CLIBadInputTests: XCTestCase {
    private var binary: HongbaoBinary!
    private var directory: String!

    override func setUpWithError() throws {
        binary = try HongbaoBinary()
        directory = ScratchRoot.path() + "/hongbao-cli-\(UUID().uuidString.prefix(8))"
        try run(["account", "open", "alice", "--deposit", "1000"])
        try run(["account", "open", "bob"])
        try run(["account", "open", "张三", "--deposit", "10"])
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The state the last refusal left, read after it: the next refusal's `before` as long as no other command has
    /// run since (each refusal then costs three processes, not five).
    private var stateLeft: String?

    @discardableResult
    private func run(_ arguments: [String], expectSuccess: Bool = true) throws -> HongbaoBinary.Result {
        stateLeft = nil
        return try read(arguments, expectSuccess: expectSuccess)
    }

    /// Runs a command without forgetting `stateLeft`: only for the reading commands of `state()`.
    private func read(_ arguments: [String], expectSuccess: Bool = true) throws -> HongbaoBinary.Result {
        let result = try binary.run(arguments + ["--data", directory, "--durability", "normal"])
        if expectSuccess {
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
        }
        return result
    }

    private func state() throws -> String {
        let audit = try read(["audit", "--json"])
        let accounts = try read(["account", "list", "--json"])
        return audit.stdout + accounts.stdout
    }

    private func assertRefused(_ arguments: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try stateLeft ?? state()
        let result = try run(arguments, expectSuccess: false)
        XCTAssertNotEqual(result.status, 0, "\(arguments) should fail", file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "\(arguments): one line expected, got \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(mentions), "\(arguments): '\(result.stderr)' should mention '\(mentions)'",
                      file: file, line: line)
        XCTAssertFalse(result.stderr.contains("Fatal error"), file: file, line: line)
        let after = try state()
        XCTAssertEqual(after, before, "\(arguments) changed state", file: file, line: line)
        stateLeft = after
    }

    func testBadAmountsAreRefusedAndChangeNothing() throws {
        try assertRefused(["send", "alice", "abc", "--to", "bob"], mentions: "'abc' is not an amount")
        try assertRefused(["send", "alice", "-1", "--to", "bob"], mentions: "negative")
        try assertRefused(["send", "alice", "0", "--to", "bob"], mentions: "not a positive amount")
        try assertRefused(["send", "alice", "0.001", "--to", "bob"], mentions: "more than two decimals")
        try assertRefused(["send", "alice", "1e9", "--to", "bob"], mentions: "'1e9' is not an amount")
        try assertRefused(["send", "alice", "99999999999999999999", "--to", "bob"], mentions: "too large")
        try assertRefused(["account", "open", "carol", "--deposit", "abc"], mentions: "'abc' is not an amount")
    }

    func testForgedHalfMessageDecisionsAreRefusedAndChangeNothing() throws {
        try run(["queue", "create", "tx"])
        try run(["queue", "send", "tx", "credit", "--half", "--id", "h1"])
        try run(["queue", "send", "tx", "done", "--half", "--id", "h2"])
        try run(["queue", "commit", "tx", "h2"])
        let before = try run(["queue", "peek", "tx", "--half", "--json"]).stdout
        try assertRefused(["queue", "commit", "tx", "forged"], mentions: "queue 'tx' holds no half message 'forged'")
        try assertRefused(["queue", "rollback", "tx", "forged"], mentions: "queue 'tx' holds no half message 'forged'")
        try assertRefused(["queue", "rollback", "tx", "h2"], mentions: "committed already")
        try assertRefused(["queue", "commit", "nope", "h1"], mentions: "no queue named 'nope'")
        try assertRefused(["queue", "create", "t2", "--check-back-delay", "0"], mentions: "--check-back-delay must be a number of seconds from 1 to 43,200 s, not '0'")
        try assertRefused(["queue", "create", "t3", "--max-check-backs", "1001"], mentions: "--max-check-backs must be a whole number from 1 to 1,000, not '1001'")
        XCTAssertEqual(try run(["queue", "peek", "tx", "--half", "--json"]).stdout, before)
        XCTAssertTrue(before.contains("\"h1\""), before)
    }

    func testBusinessRulesAreRefusedAndChangeNothing() throws {
        try assertRefused(["send", "alice", "2000", "--shares", "3"], mentions: "not enough")
        try assertRefused(["send", "张三", "100", "--to", "bob"], mentions: "not enough")
        try assertRefused(["send", "nobody", "1", "--to", "bob"], mentions: "no account named 'nobody'")
        try assertRefused(["send", "alice", "1", "--to", "nobody"], mentions: "no account named 'nobody'")
        try assertRefused(["account", "open", "alice"], mentions: "already exists")
        try assertRefused(["account", "show", "nobody"], mentions: "no account named 'nobody'")
        try assertRefused(["send", "alice", "10", "--shares", "0"], mentions: "--shares must be a whole number from 1 to 100, not '0'")
        try assertRefused(["send", "alice", "10", "--shares", "101"], mentions: "--shares must be a whole number from 1 to 100, not '101'")
        try assertRefused(["send", "alice", "0.50", "--shares", "100"], mentions: "cannot make 100 shares")
        try assertRefused(["send", "alice", "5", "--to", "alice"], mentions: "to oneself")
        try assertRefused(["send", "alice", "200.01", "--to", "bob"], mentions: "at most ¥200.00")
        try assertRefused(["grab", "nopacket", "bob"], mentions: "no red packet 'nopacket'")
        try assertRefused(["packet", "show", "nopacket"], mentions: "no red packet 'nopacket'")
    }

    func testGrabAndOpenRules() throws {
        let packet = try run(["send", "alice", "10", "--shares", "2"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try run(["grab", packet, "bob"])
        try assertRefused(["grab", packet, "bob"], mentions: "already grabbed")
        try assertRefused(["open", packet, "张三"], mentions: "has not grabbed")
        let first = try run(["open", packet, "bob", "--json"]).stdout
        let second = try run(["open", packet, "bob", "--json"]).stdout
        XCTAssertTrue(second.contains("\"replay\" : true"), second)
        XCTAssertEqual(first.replacingOccurrences(of: "\"replay\" : false", with: ""),
                       second.replacingOccurrences(of: "\"replay\" : true", with: ""),
                       "opening twice must return the same claim")
        try run(["grab", packet, "张三"])
        try assertRefused(["grab", packet, "alice"], mentions: "every share")
        XCTAssertEqual(try run(["audit"]).status, 0)
    }

    func testOpeningAfterExpiryIsRefusedAndTheRemainderIsRefunded() async throws {
        let packet = try run(["send", "alice", "10", "--shares", "2", "--ttl", "1"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try run(["grab", packet, "bob"])
        var shown = ""
        try await waitUntil("the packet to expire", timeout: .seconds(60), interval: .milliseconds(200)) {
            shown = try run(["packet", "show", packet]).stdout
            return shown.contains("[expired, refund pending]")
        }
        // Reading changes nothing: the packet is shown expired, and the refund waits for a writing command.
        XCTAssertTrue(shown.contains("[expired, refund pending]"), shown)
        XCTAssertFalse(shown.contains("refunded"), shown)
        XCTAssertTrue(try run(["account", "show", "alice"]).stdout.hasPrefix("alice  ¥990.00"))
        let refused = try run(["open", packet, "bob"], expectSuccess: false)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("has expired"), refused.stderr)
        shown = try run(["packet", "show", packet]).stdout
        XCTAssertTrue(shown.contains("[expired]") && shown.contains("refunded ¥10.00"), shown)
        let alice = try run(["account", "show", "alice"]).stdout
        XCTAssertTrue(alice.hasPrefix("alice  ¥1,000.00"), alice)
    }

    func testDataDirectoryProblemsAreClearErrors() throws {
        let garbage = directory + "-garbage"
        try FileManager.default.createDirectory(atPath: garbage, withIntermediateDirectories: true)
        try Data("this is not a database".utf8).write(to: URL(fileURLWithPath: garbage + "/ledger.sqlite"))
        let foreign = try binary.run(["account", "list", "--data", garbage])
        XCTAssertNotEqual(foreign.status, 0)
        XCTAssertTrue(foreign.stderr.contains("not a Hongbao ledger"), foreign.stderr)
        XCTAssertEqual(try String(contentsOfFile: garbage + "/ledger.sqlite", encoding: .utf8), "this is not a database")
        try? FileManager.default.removeItem(atPath: garbage)

        let file = directory + "-file"
        try Data().write(to: URL(fileURLWithPath: file))
        let notDirectory = try binary.run(["account", "list", "--data", file])
        XCTAssertNotEqual(notDirectory.status, 0)
        XCTAssertTrue(notDirectory.stderr.contains("is not a directory"), notDirectory.stderr)
        // A data directory to be made under a file: the file is named, in words, and nothing is made.
        for arguments in [["seed-demo", "--data", file + "/data"], ["cluster", "up", "--data", file + "/data"]] {
            let underFile = try binary.run(arguments)
            XCTAssertNotEqual(underFile.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(underFile.stderr.contains("\(file) is a file, not a directory"), underFile.stderr)
            XCTAssertFalse(underFile.stderr.contains("NSCocoaErrorDomain"), underFile.stderr)
            XCTAssertEqual(underFile.stderr.split(separator: "\n").count, 1, underFile.stderr)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)), Data())
        try? FileManager.default.removeItem(atPath: file)

        let readOnly = directory + "-readonly"
        try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o500])
        defer { try? FileManager.default.removeItem(atPath: readOnly) }
        if getuid() != 0 { // root writes anywhere
            let unwritable = try binary.run(["account", "list", "--data", readOnly])
            XCTAssertNotEqual(unwritable.status, 0)
            XCTAssertTrue(unwritable.stderr.contains("not writable"), unwritable.stderr)
        }
    }

    func testServeSaysWhyItCannotListen() throws {
        let held = try HeldPort()
        defer { held.release() }
        let taken = try binary.run(["serve", "--port", "\(held.port)", "--data", directory])
        XCTAssertEqual(taken.status, 4, taken.stderr)
        XCTAssertEqual(taken.stderr, "hongbao: cannot listen on 127.0.0.1:\(held.port): Address already in use\n")
        XCTAssertFalse(taken.stdout.contains("listening"), taken.stdout)

        let unknown = try binary.run(["serve", "--host", "nowhere.invalid", "--port", "0", "--data", directory])
        XCTAssertEqual(unknown.status, 4, unknown.stderr)
        XCTAssertTrue(unknown.stderr.hasPrefix("hongbao: cannot listen on nowhere.invalid:0: unknown host"), unknown.stderr)
        XCTAssertEqual(unknown.stderr.split(separator: "\n").count, 1, unknown.stderr)
    }

    func testCorruptLedgerIsReportedNotServed() throws {
        let path = directory + "/ledger.sqlite"
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: 4096 + 16)
        handle.write(Data(repeating: 0xA5, count: 8192))
        try handle.close()
        let result = try binary.run(["account", "list", "--data", directory])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("damaged") || result.stderr.contains("storage error"), result.stderr)
    }

    func testSecondProcessIsToldWhoOwnsTheDirectory() async throws {
        let pipe = Pipe()
        let holder = try binary.start(["seed-demo", "--accounts", "2000000", "--data", directory, "--durability", "normal"],
                                      stdout: pipe)
        defer { holder.terminate(); holder.waitUntilExit() }
        // Wait until the holder has the lock (its pid is in LOCK); probing earlier could race it for the lock.
        let lockPath = directory + "/LOCK"
        await waitUntil("the holder to take the lock", timeout: .seconds(20), interval: .milliseconds(20)) {
            !holder.isRunning
                || (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                    == String(holder.processIdentifier)
        }
        XCTAssertTrue(holder.isRunning, "the holder should still be seeding")
        let result = try binary.run(["account", "list", "--data", directory])
        XCTAssertTrue(result.stderr.contains("in use by pid \(holder.processIdentifier)"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertNotEqual(result.status, 0)
    }

    func testCJKNamesWork() throws {
        try run(["account", "open", "李四"])
        let packet = try run(["send", "张三", "5", "--to", "李四"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try run(["grab", packet, "李四"])
        let opened = try run(["open", packet, "李四"]).stdout
        XCTAssertTrue(opened.contains("李四 opened ¥5.00"), opened)
        XCTAssertTrue(try run(["account", "show", "李四"]).stdout.hasPrefix("李四  ¥5.00"))
    }
}

/// `--theme` finds the themes shipped in the executable from any directory, and refuses an unknown name loudly.
final class DashboardThemeOptionTests: XCTestCase {
    func testThemesAreFoundOutsideTheCheckoutAndUnknownNamesAreRefused() throws {
        let binary = try HongbaoBinary()
        let elsewhere = URL(fileURLWithPath: NSTemporaryDirectory())
        let unknown = try binary.run(["--theme", "nope"], directory: elsewhere)
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("unknown theme 'nope': the themes are default, colorblind, festival, high-contrast, light"),
                      unknown.stderr)
        // Found without Themes/ in sight: it gets as far as asking for a terminal.
        let light = try binary.run(["--theme", "light"], directory: elsewhere)
        XCTAssertFalse(light.stderr.contains("theme"), light.stderr)
        XCTAssertTrue(light.stderr.contains("needs a terminal"), light.stderr)
    }
}
