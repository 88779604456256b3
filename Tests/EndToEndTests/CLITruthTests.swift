import Foundation
import GRDB
import Primitives
import XCTest

/// What the operator CLI prints is true, readable and reachable, run against the real binary.
final class CLITruthTests: XCTestCase {
    private var binary: HongbaoBinary!
    private var directory: String!

    override func setUpWithError() throws {
        binary = try HongbaoBinary()
        directory = ScratchRoot.path() + "/hongbao-truth-\(UUID().uuidString.prefix(8))"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    private func run(_ arguments: [String], expect status: Int32? = 0, file: StaticString = #filePath,
                     line: UInt = #line) throws -> HongbaoBinary.Result {
        let result = try binary.run(arguments + ["--data", directory, "--durability", "normal"])
        if let status {
            XCTAssertEqual(result.status, status, "\(arguments): \(result.stdout) \(result.stderr)", file: file, line: line)
        }
        return result
    }

    private func json(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    private func people() throws {
        try run(["account", "open", "alice", "--deposit", "1000"])
        try run(["account", "open", "bob"])
    }

    // MARK: Common options

    func testCommonOptionsAreAcceptedBeforeTheSubcommand() throws {
        let seeded = try binary.run(["--data", directory, "--durability", "normal", "seed-demo", "--accounts", "3"])
        XCTAssertEqual(seeded.status, 0, seeded.stderr)
        let shown = try binary.run(["--json", "--data=" + directory, "account", "show", "alice"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        let view = try XCTUnwrap(try json(shown.stdout) as? [String: Any])
        XCTAssertEqual((view["account"] as? [String: Any])?["name"] as? String, "alice")
        // No queue yet: said in words (it printed nothing), and an empty list in JSON.
        XCTAssertEqual(try binary.run(["--data", directory, "queue", "list"]).stdout, "no queues in this data directory yet\n")
        XCTAssertEqual(try binary.run(["--data", directory, "queue", "list", "--json"]).stdout
            .filter { !$0.isWhitespace }, "[]")
        let queue = try binary.run(["--data", directory, "queue", "create", "jobs"])
        XCTAssertEqual(queue.status, 0, queue.stderr)
        XCTAssertEqual(try binary.run(["--data", directory, "queue", "list"]).stdout, "jobs\n")
    }

    /// The README says which commands take --data, --durability and --json; each command's help agrees.
    func testTheCommonOptionsAreWhereTheReadmeSaysTheyAre() throws {
        let readme = try String(contentsOf: HongbaoBinary.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains("Every command\nbut `bench` takes `--data DIR` and `--durability full|normal`; every command but the dashboard and\n`serve` takes `--json`"),
                      "the README's claim changed: update this test with it")
        let commands = [
            ["seed-demo"], ["audit"], ["simulate"], ["send"], ["grab"], ["open"],
            ["account", "open"], ["account", "list"], ["account", "show"],
            ["packet", "show"], ["packet", "sent"], ["packet", "received"],
            ["queue", "create"], ["queue", "list"], ["queue", "stats"], ["queue", "send"], ["queue", "receive"],
            ["queue", "delete"], ["queue", "peek"], ["queue", "redrive"], ["queue", "replicas"],
            ["queue", "commit"], ["queue", "rollback"], ["queue", "rewind"], ["queue", "rewind-window"],
        ]
        for command in commands + [["dashboard"], ["bench"], ["serve"]] {
            let help = try binary.run(command + ["--help"]).stdout
            let isBench = command == ["bench"], isDashboard = command == ["dashboard"] || command == ["serve"]
            XCTAssertTrue(help.contains("--data <data>"), "\(command) lacks --data")
            XCTAssertEqual(help.contains("--durability"), !isBench, "\(command) --durability")
            XCTAssertEqual(help.contains("--json"), !isDashboard, "\(command) --json")
        }
    }

    // MARK: Lists and words

    func testPacketListsHaveAHeaderAlignedColumnsAndRightPlurals() throws {
        try people()
        let one = try run(["send", "alice", "8.88", "--shares", "1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try run(["send", "alice", "100", "--shares", "10", "--equal"])
        try run(["send", "alice", "1", "--to", "bob"])
        XCTAssertTrue(try run(["packet", "show", one]).stdout.contains("¥8.88 in 1 share  ["))
        let lines = try run(["packet", "sent", "alice"]).stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, "\(lines)")
        XCTAssertTrue(lines[0].hasPrefix("packet "), lines[0])
        // Every column starts (left-aligned) or ends (right-aligned) at the same place on every line.
        let stateColumn = lines[0].range(of: "state")?.lowerBound.utf16Offset(in: lines[0])
        let totalEnd = lines[0].range(of: "total")?.upperBound.utf16Offset(in: lines[0])
        for row in lines.dropFirst() {
            let parts = row.split(separator: " ", omittingEmptySubsequences: true)
            XCTAssertEqual(parts.count, 5, row)
            XCTAssertEqual(row.range(of: String(parts[4]))?.lowerBound.utf16Offset(in: row), stateColumn, row)
            XCTAssertEqual(row.range(of: String(parts[1]))?.upperBound.utf16Offset(in: row), totalEnd, row)
        }
        XCTAssertEqual(try run(["packet", "received", "alice"]).stdout, "alice has opened no shares\n")
    }

    func testQueueStatsShowsADeadLetterQueueOnlyWhenThereIsOne() throws {
        try run(["queue", "create", "parked"])
        try run(["queue", "create", "work", "--dead-letter", "parked"])
        try run(["queue", "create", "plain"])
        let plain = try run(["queue", "stats", "plain"]).stdout
        XCTAssertFalse(plain.contains("dead"), plain)
        XCTAssertFalse(plain.contains(":\n") || plain.hasSuffix(":"), plain)
        let work = try run(["queue", "stats", "work"]).stdout
        XCTAssertTrue(work.contains("dead-letter queue        parked"), work)
    }

    func testQueueRewindDeliversADeletedMessageAgainAndRefusesQueuesThatKeepNone() throws {
        try run(["queue", "create", "audit", "--rewind-window", "3600"])
        try run(["queue", "send", "audit", "entry one"])
        let received = try run(["queue", "receive", "audit", "--json"]).stdout
        let message = try XCTUnwrap(try json(received) as? [String: Any])
        let receipt = try XCTUnwrap((message["message"] as? [String: Any])?["receipt"] as? String)
        try run(["queue", "delete", "audit", receipt])
        XCTAssertTrue(try run(["queue", "stats", "audit"]).stdout.contains("deleted, kept for rewind  1"))
        XCTAssertEqual(try run(["queue", "rewind", "audit", "--seconds", "60"]).stdout,
                       "rewound audit: 1 message(s) deliverable again\n")
        XCTAssertTrue(try run(["queue", "receive", "audit"]).stdout.contains("entry one"))

        try run(["queue", "create", "plain"])
        let refused = try run(["queue", "rewind", "plain", "--seconds", "60"], expect: 4)
        XCTAssertTrue(refused.stderr.contains("does not keep deleted messages"), refused.stderr)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        let zero = try run(["queue", "rewind", "audit", "--seconds", "0"], expect: 2)
        XCTAssertTrue(zero.stderr.contains("--seconds"), zero.stderr)
        try run(["queue", "rewind-window", "plain", "120"])
        XCTAssertTrue(try run(["queue", "stats", "plain"]).stdout.contains("rewind window"))
    }

    func testQueueHelpDescribesEveryArgument() throws {
        for command in [["queue", "stats"], ["queue", "send"], ["queue", "delete"], ["queue", "peek"]] {
            let help = try binary.run(command + ["--help"]).stdout
            guard let arguments = help.components(separatedBy: "ARGUMENTS:").dropFirst().first?
                .components(separatedBy: "OPTIONS:").first else { return XCTFail("\(command): no arguments section") }
            for line in arguments.split(separator: "\n") where line.trimmingCharacters(in: .whitespaces).hasPrefix("<") {
                let described = line.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
                XCTAssertEqual(described.count, 2, "\(command): '\(line)' is not described")
            }
        }
    }

    func testProgressIsPlainWhenStderrIsNotATerminal() throws {
        let seeded = try run(["seed-demo", "--accounts", "20"])
        XCTAssertFalse(seeded.stderr.contains("\r"), seeded.stderr.debugDescription)
        XCTAssertFalse(seeded.stdout.contains("\r"), seeded.stdout.debugDescription)
    }

    func testAScenarioThatIsADirectoryIsAClearError() throws {
        let result = try run(["simulate", "--scenario", NSTemporaryDirectory()], expect: nil)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("is a directory, not a scenario file"), result.stderr)
        XCTAssertFalse(result.stderr.contains("NSCocoaErrorDomain"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }

    // MARK: simulate

    func testSimulateCountsOnlyItsOwnRunAndSaysHowItDrained() throws {
        // A first run whose credits all fail and that does not wait for them: they stay queued.
        let first = try run(["simulate", "--duration", "2", "--rate", "100", "--accounts", "50", "--credit-failure", "100",
                             "--drain", "0", "--workers", "1"])
        let lines = first.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("drained               no: still busy after the 0 s limit") }, first.stdout)
        XCTAssertFalse(first.stdout.contains("drained in not"), first.stdout)
        // The timeline's first line states the rate of the opens it counts.
        let timeline = try XCTUnwrap(lines.first, first.stdout)
        let fields = timeline.split(separator: " ", omittingEmptySubsequences: true)
        let opensIndex = try XCTUnwrap(fields.firstIndex(of: "opens"), timeline)
        if let opens = Int(fields[opensIndex + 1]), opens > 0 {
            XCTAssertNotEqual(fields[opensIndex + 2], "0/s", "first second: \(timeline)")
        }
        // A credit still queued: what `packet show` says of it in text ("attempt N, next try in") is in its JSON.
        var shown = false
        for name in ["alice", "bob", "carol", "dave", "erin", "张三", "李四", "王五"] where !shown {
            let received = try XCTUnwrap(try json(try run(["packet", "received", name, "--json"]).stdout) as? [[String: Any]])
            guard let waiting = received.first(where: { $0["state"] as? String == "waiting" }),
                  let packet = waiting["packet"] as? String else { continue }
            let text = try run(["packet", "show", packet]).stdout
            XCTAssertTrue(text.contains("waiting (attempt "), text)
            let detail = try XCTUnwrap(try json(try run(["packet", "show", packet, "--json"]).stdout) as? [String: Any])
            let claims = try XCTUnwrap(detail["claims"] as? [[String: Any]])
            let queued = try XCTUnwrap(claims.first { $0["state"] as? String == "waiting" }?["queued"] as? [String: Any])
            XCTAssertNotNil(queued["attempts"] as? Int)
            XCTAssertNotNil(queued["nextTryAtMilliseconds"] as? Int)
            XCTAssertEqual(queued["deadLettered"] as? Bool, false)
            shown = true
        }
        XCTAssertTrue(shown, "no named person received a share in the first run")
        // A run of zero seconds opens nothing, and its retries are the first run's credits, counted apart.
        let second = try run(["simulate", "--duration", "0", "--accounts", "50", "--json"])
        let summary = try XCTUnwrap(try json(second.stdout) as? [String: Any])
        XCTAssertEqual(summary["opens"] as? Int, 0, "\(summary)")
        XCTAssertEqual(summary["packetsSent"] as? Int, 0)
        XCTAssertEqual(summary["creditedByRetry"] as? Int, 0)
        XCTAssertGreaterThan(summary["creditedFromEarlierRuns"] as? Int ?? 0, 0, "\(summary)")
        XCTAssertEqual(summary["stillWaiting"] as? Int, 0)
        // The JSON gives no percentile it did not measure either: no key, rather than a 0 ms never seen.
        for key in ["openLatencyP50Milliseconds", "openLatencyP99Milliseconds", "openLatencyP999Milliseconds",
                    "timeToCreditP99Milliseconds"] {
            XCTAssertNil(summary[key], "\(key) with no opens and no retried credit: \(summary)")
        }
        // Nothing opened, nothing retried: the text gives no latency rather than percentiles of 0 ms, and the
        // per-second line a dash for its p99.
        let quiet = try run(["simulate", "--duration", "0", "--accounts", "50"]).stdout
        XCTAssertTrue(quiet.contains("open latency          — (no opens)\n"), quiet)
        XCTAssertTrue(quiet.contains("credited by retry     0\n"), quiet)
        XCTAssertFalse(quiet.contains("0.00 ms") || quiet.contains("p99    0.0 ms"), quiet)
        XCTAssertTrue(quiet.contains("not started           0 (never at the limit of 512 in flight)\n"), quiet)
    }

    func testSimulateSaysHowManyOpensItCouldNotStart() throws {
        // A million a second: the pacer's first tick owes 10,000 opens at once and may start 512 of them, so the
        // rest are skipped before any can finish; the summary must say so, not only give a rate under the target.
        let result = try run(["simulate", "--duration", "1", "--rate", "1000000", "--accounts", "50"])
        let line = try XCTUnwrap(result.stdout.split(separator: "\n").first { $0.hasPrefix("not started ") }, result.stdout)
        let count = try XCTUnwrap(Int(line.split(separator: " ", omittingEmptySubsequences: true)[2]), String(line))
        XCTAssertGreaterThan(count, 0, String(line))
        XCTAssertTrue(line.contains("(at the limit of 512 in flight, ") && line.hasSuffix(" s into the load)"), String(line))
        let json = try XCTUnwrap(try json(try run(["simulate", "--duration", "0", "--accounts", "50", "--json"]).stdout)
            as? [String: Any])
        XCTAssertEqual(json["skippedOpens"] as? Int, 0, "\(json)")
        XCTAssertEqual(json["maxOpensInFlight"] as? Int, 512, "\(json)")
    }

    func testAScenarioSummaryDoesNotClaimATargetOfZero() throws {
        let scenario = directory + "-scenario.toml"
        try """
            name = "two seconds"
            duration = 1

            [[step]]
            at = 0
            caption = "a little load"
            rate = 50
            """.write(toFile: scenario, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: scenario) }
        let result = try run(["simulate", "--scenario", scenario, "--accounts", "50"])
        XCTAssertFalse(result.stdout.contains("target 0/s"), result.stdout)
        XCTAssertTrue(result.stdout.contains("(rate set by scenario two seconds)"), result.stdout)
    }

    // MARK: JSON

    func testEveryJSONViewFollowsOneConvention() throws {
        try people()
        let packet = try run(["send", "alice", "10", "--shares", "2"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try run(["grab", packet, "bob"])
        try run(["open", packet, "bob"])
        try run(["queue", "create", "jobs"])
        try run(["queue", "send", "jobs", "hello"])
        let views: [[String]] = [
            ["account", "list"], ["account", "show", "alice"], ["packet", "show", packet], ["packet", "sent", "alice"],
            ["packet", "received", "bob"], ["audit"], ["queue", "list"], ["queue", "stats", "jobs"],
            ["queue", "peek", "jobs"], ["queue", "replicas"], ["queue", "send", "jobs", "again"],
            ["queue", "receive", "jobs"],
        ]
        for view in views {
            let output = try run(view + ["--json"]).stdout
            XCTAssertTrue(output.hasPrefix("{\n") || output.hasPrefix("[\n"), "\(view) is not pretty-printed: \(output)")
            var keys: [String] = []
            collectKeys(try json(output), into: &keys)
            for key in keys {
                XCTAssertFalse(key.contains("_") || key.first?.isUppercase == true, "\(view): key '\(key)' is not camelCase")
            }
        }
    }

    private func collectKeys(_ value: Any, into keys: inout [String]) {
        if let object = value as? [String: Any] {
            for (key, inner) in object {
                keys.append(key)
                collectKeys(inner, into: &keys)
            }
        } else if let array = value as? [Any] {
            for inner in array { collectKeys(inner, into: &keys) }
        }
    }

    func testReceivingFromAnEmptyQueueSaysSo() throws {
        try run(["queue", "create", "jobs"])
        let result = try run(["queue", "receive", "jobs", "--json"])
        let object = try XCTUnwrap(try json(result.stdout) as? [String: Any])
        XCTAssertEqual(Array(object.keys), ["message"])
        XCTAssertTrue(object["message"] is NSNull, result.stdout)
        XCTAssertEqual(try run(["queue", "receive", "jobs"]).stdout, "no message: jobs has nothing visible\n")
        // Peeking at it, and its stats, say so too: no empty output, no oldest message aged 0 s.
        XCTAssertEqual(try run(["queue", "peek", "jobs"]).stdout, "no message: jobs holds none\n")
        XCTAssertEqual(try run(["queue", "peek", "jobs", "--half"]).stdout, "no half message: jobs holds none\n")
        XCTAssertEqual(try run(["queue", "peek", "jobs", "--json"]).stdout.filter { !$0.isWhitespace }, "[]")
        XCTAssertTrue(try run(["queue", "stats", "jobs"]).stdout.contains("oldest age               —\n"))
        try run(["queue", "send", "jobs", "hello"])
        let oldest = try run(["queue", "stats", "jobs"]).stdout.split(separator: "\n").first { $0.contains("oldest age") }
        XCTAssertTrue(oldest.map { $0.hasSuffix(" s") && !$0.contains("—") } ?? false, "\(oldest ?? "")")
        XCTAssertTrue(try run(["queue", "peek", "jobs"]).stdout.hasSuffix("hello\n"))
    }

    func testPacketShowJSONCarriesWhatTheTextShows() throws {
        try people()
        try run(["account", "open", "carol"])
        let personal = try run(["send", "alice", "5", "--to", "bob"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let text = try run(["packet", "show", personal]).stdout
        XCTAssertTrue(text.contains("personal from alice to bob"), text)
        XCTAssertTrue(text.contains("holds ¥5.00 in the settlement account"), text)
        let view = try XCTUnwrap(try json(try run(["packet", "show", personal, "--json"]).stdout) as? [String: Any])
        XCTAssertEqual(view["recipient"] as? String, "bob")
        XCTAssertEqual(view["held"] as? String, "5.00")
        XCTAssertEqual((try XCTUnwrap(view["packet"] as? [String: Any]))["kind"] as? String, "personal")
    }

    func testErrorsWithJSONAreOneJSONObjectWithAStableCode() throws {
        try people()
        let unknown = try run(["account", "show", "nobody", "--json"], expect: nil)
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertEqual(unknown.stdout, "")
        let error = try XCTUnwrap((try json(unknown.stderr) as? [String: Any])?["error"] as? [String: Any], unknown.stderr)
        XCTAssertEqual(error["code"] as? String, "ledger.unknownAccount")
        XCTAssertEqual(error["message"] as? String, "no account named 'nobody'")
        XCTAssertEqual(error["exitCode"] as? Int, Int(unknown.status))
        let usage = try run(["account", "show", "--json"], expect: nil)
        let usageError = try XCTUnwrap((try json(usage.stderr) as? [String: Any])?["error"] as? [String: Any], usage.stderr)
        XCTAssertEqual(usageError["code"] as? String, "usage")
        XCTAssertEqual(usageError["exitCode"] as? Int, Int(usage.status))
        let text = try run(["account", "show", "nobody"], expect: nil)
        XCTAssertEqual(text.stderr, "hongbao: no account named 'nobody'\n", "without --json errors stay one line of text")
    }

    // MARK: Reading changes nothing; repairs are explicit and recorded

    func testReadingCommandsChangeNothingAndRepairIsExplicitAndRecorded() throws {
        try people()
        let packet = try run(["send", "alice", "10", "--shares", "2"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try run(["queue", "create", "jobs"])
        try run(["queue", "send", "jobs", "hello"])
        // Damage replica-b on disk while nothing runs.
        let replica = directory + "/queue/replica-b/queue.sqlite"
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: replica))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: Int(size) - 100))
        try handle.close()
        let before = try files()
        let audit = try run(["audit"], expect: 1)
        XCTAssertTrue(audit.stdout.contains("… awaiting repair: replica-b is damaged"), audit.stdout)
        XCTAssertFalse(audit.stdout.contains("✓ every invariant holds"), audit.stdout)
        for read in [["packet", "show", packet], ["packet", "sent", "alice"], ["account", "show", "alice"],
                     ["account", "list"], ["queue", "list"], ["queue", "stats", "jobs"], ["queue", "peek", "jobs"],
                     ["queue", "replicas"], ["audit", "--json"]] {
            try run(read, expect: nil)
        }
        let replicas = try run(["queue", "replicas"]).stdout
        XCTAssertTrue(replicas.contains("replica-b  damaged"), replicas)
        XCTAssertTrue(replicas.contains("no repairs recorded"), replicas)
        XCTAssertEqual(try files(), before, "a reading command wrote to the data directory")

        let repaired = try run(["audit", "--repair"])
        XCTAssertTrue(repaired.stdout.contains("repaired: replica-b: damaged ("), repaired.stdout)
        XCTAssertTrue(repaired.stdout.contains("✓ every invariant holds"), repaired.stdout)
        let after = try run(["queue", "replicas"]).stdout
        XCTAssertTrue(after.contains("replica-b  up"), after)
        XCTAssertTrue(after.contains("replica-b: damaged ("), after)
        XCTAssertTrue(after.contains("rebuilt by a full copy from replica-"), after)
        let view = try XCTUnwrap(try json(try run(["queue", "replicas", "--json"]).stdout) as? [String: Any])
        let repairs = try XCTUnwrap(view["repairs"] as? [[String: Any]])
        XCTAssertEqual(repairs.count, 1)
        XCTAssertEqual(repairs.first?["replica"] as? String, "b")
        XCTAssertEqual(repairs.first?["action"] as? String, "rebuilt by a full copy")
        XCTAssertGreaterThan(repairs.first?["operations"] as? Int ?? 0, 0)
    }

    func testAReadingCommandOnAFreshDirectoryCreatesNothing() throws {
        let shown = try run(["packet", "show", "nope"], expect: nil)
        XCTAssertNotEqual(shown.status, 0)
        XCTAssertTrue(shown.stderr.contains("there is no data directory"), shown.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory))
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try run(["account", "open", "alice"])
        XCTAssertNotEqual(try run(["packet", "show", "nope"], expect: nil).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/queue"), "a read created the queue's replicas")
    }

    /// Every file of the data directory but the lock and SQLite's shared-memory index, with its bytes.
    private func files() throws -> [String: Data] {
        var found: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let name = enumerator?.nextObject() as? String {
            let path = directory + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  !name.hasSuffix("-shm"), !name.hasSuffix("LOCK") else { continue }
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            if name.hasSuffix("-wal") && data.isEmpty { continue }
            found[name] = data
        }
        return found
    }
}
