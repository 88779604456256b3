import Foundation
import Engine
import PostgresStores
import Primitives
import TestKit
import XCTest

/// `--store postgres` on the real binary: the commands that do not run on PostgreSQL in this version refuse
/// it with exit 2 and one line, before they open or create anything; the ones that do need a server and say
/// so; a bad URL is one line; the operator's commands print on PostgreSQL what they print on SQLite.
final class StoreOptionTests: XCTestCase {
    func testCommandsThatRunOnSQLiteOnlyRefusePostgres() throws {
        let binary = try HongbaoBinary()
        let data = ScratchRoot.path() + "/hongbao-store-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let refused: [([String], String)] = [
            (["queue", "send", "credits", "x"], "credits is the engine's credit queue on --store postgres"),
            (["queue", "create", "credits-dlq"], "credits-dlq is the engine's credit queue on --store postgres"),
            (["queue", "replicas"], "the copies are the cluster's servers: hongbao cluster status"),
        ]
        for (command, reason) in refused {
            let result = try binary.run(command + ["--data", data, "--store", "postgres",
                                                   "--postgres", "postgres://u:p@127.0.0.1:1/x"])
            XCTAssertEqual(result.status, 2, "\(command): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(reason), "\(command): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(command): \(result.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: data), "a refused command created the data directory")
        let bench = try binary.run(["bench", "ledger", "--store", "postgres"])
        XCTAssertEqual(bench.status, 2, bench.stderr)
        XCTAssertTrue(bench.stderr.contains("does not run on --store postgres"), bench.stderr)
        let replica = try binary.run(["simulate", "--data", data, "--store", "postgres", "--replica-down", "b",
                                      "--postgres", "postgres://u:p@127.0.0.1:1/x"])
        XCTAssertEqual(replica.status, 2, replica.stderr)
        XCTAssertTrue(replica.stderr.contains("the copies are the cluster's servers"), replica.stderr)
    }

    func testPostgresCommandsNeedAServerAndAGoodURL() throws {
        let binary = try HongbaoBinary()
        let empty = ScratchRoot.path() + "/hongbao-store-\(UUID().uuidString.prefix(8))"
        let noServer = try binary.run(["audit", "--store", "postgres", "--data", empty],
                                      environment: ["HONGBAO_POSTGRES": ""])
        XCTAssertEqual(noServer.status, 2, noServer.stderr)
        XCTAssertTrue(noServer.stderr.contains("needs a server"), noServer.stderr)
        let badURL = try binary.run(["audit", "--store", "postgres", "--postgres", "mysql://a@b/c"])
        XCTAssertEqual(badURL.status, 2, badURL.stderr)
        XCTAssertEqual(badURL.stderr, "hongbao: --postgres: not a PostgreSQL URL (it must start with postgres://): mysql://a@b/c\n")
        let normal = try binary.run(["simulate", "--store", "postgres", "--durability", "normal", "--postgres",
                                     "postgres://u@127.0.0.1:1/db", "--data", empty])
        XCTAssertEqual(normal.status, 2, normal.stderr)
        XCTAssertTrue(normal.stderr.hasPrefix("hongbao: --durability normal sets how the SQLite files commit; on --store postgres"),
                      normal.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: empty), "nothing made")
        let e2e = try binary.run(["bench", "e2e", "--store", "postgres"], environment: ["HONGBAO_POSTGRES": ""])
        XCTAssertEqual(e2e.status, 2, e2e.stderr)
        XCTAssertTrue(e2e.stderr.contains("needs a PostgreSQL server"), e2e.stderr)
        for suite in ["pgqueue", "pgstores"] {
            let bench = try binary.run(["bench", suite])
            XCTAssertEqual(bench.status, 2, bench.stderr)
            XCTAssertTrue(bench.stderr.contains("needs a PostgreSQL server"), bench.stderr)
        }
        // pgfaults kills servers: it takes a cluster's data directory, never a URL, and --rate is its alone.
        for arguments in [["bench", "pgfaults"], ["bench", "pgfaults", "--cluster", ""],
                          ["bench", "pgfaults", "--cluster", empty, "--rate", "0"],
                          ["bench", "pgfaults", "--cluster", empty, "--rate", "1e3"],
                          ["bench", "e2e", "--rate", "100"], ["bench", "queue", "--cluster", empty]] {
            let bench = try binary.run(arguments)
            XCTAssertEqual(bench.status, 2, "\(arguments): \(bench.stderr)")
            XCTAssertEqual(bench.stderr.split(separator: "\n").count, 1, "\(arguments): \(bench.stderr)")
        }
        let noCluster = try binary.run(["bench", "pgfaults", "--cluster", empty, "--quick"])
        XCTAssertNotEqual(noCluster.status, 0)
        XCTAssertTrue(noCluster.stderr.contains("there is no cluster in"), noCluster.stderr)
        XCTAssertEqual(noCluster.stderr.split(separator: "\n").count, 1, noCluster.stderr)
        // A bench's server out of reach is one line at once, not after the pool's minute of retries.
        let benchUnreachable = try binary.run(["bench", "pgstores", "--quick", "--postgres", "postgres://u:p@127.0.0.1:1/x"])
        XCTAssertNotEqual(benchUnreachable.status, 0)
        // Its progress lines come first on stderr; the error is one line, the last.
        let errors = benchUnreachable.stderr.split(separator: "\n").filter { $0.hasPrefix("hongbao:") }
        XCTAssertEqual(errors.count, 1, benchUnreachable.stderr)
        XCTAssertTrue(errors.last?.hasPrefix("hongbao: bench failed: PostgreSQL unavailable: cannot connect to postgres://u@127.0.0.1:1/x") == true,
                      benchUnreachable.stderr)
        XCTAssertEqual(benchUnreachable.stderr.split(separator: "\n").last, errors.last, benchUnreachable.stderr)
        let unreachable = try binary.run(["audit", "--store", "postgres", "--postgres", "postgres://u:p@127.0.0.1:1/x"])
        XCTAssertNotEqual(unreachable.status, 0)
        XCTAssertEqual(unreachable.stderr, "hongbao: PostgreSQL unavailable: cannot connect to postgres://u@127.0.0.1:1/x: connection refused\n")
        XCTAssertEqual(unreachable.stderr.split(separator: "\n").count, 1, unreachable.stderr)
        let simulate = try binary.run(["simulate", "--store", "postgres", "--data", empty, "--duration", "1",
                                       "--postgres", "postgres://u:p@127.0.0.1:1/x"])
        try? FileManager.default.removeItem(atPath: empty)
        XCTAssertEqual(simulate.status, 5, simulate.stderr) // unavailable
        XCTAssertTrue(simulate.stderr.hasPrefix("hongbao: PostgreSQL unavailable: cannot connect to"), simulate.stderr)
        XCTAssertEqual(simulate.stderr.split(separator: "\n").count, 1, simulate.stderr)
    }

    /// `simulate --store postgres` runs the engine, the load and the workers on a PostgreSQL server (a
    /// throwaway one), drains, and its audit and `audit --store postgres` after it are clean.
    func testSimulateRunsTheEngineOnPostgresAndTheAuditAfterIsClean() async throws {
        let url = try await throwawayServerURL()
        let binary = try HongbaoBinary()
        let data = try TemporaryDirectory(prefix: "hongbao-simulate-pg")
        defer { data.remove() }
        let run = try binary.run(["simulate", "--store", "postgres", "--postgres", url, "--data", data.path,
                                  "--duration", "2", "--rate", "40", "--accounts", "50", "--credit-failure", "30"],
                                 environment: ["HONGBAO_PG_PROFILE": "1"])
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        // Where the time went, step by step, on stderr: the group commits, their waits, the queue's calls.
        for step in ["ledger.batch", "ledger.queued", "packets.batch", "packets.total.grab+draw", "pool.statement.ledger",
                     "pool.statement.packets", "queue.send"] {
            XCTAssertTrue(run.stderr.contains("\n" + step + " "), "no \(step) in the profile:\n" + run.stderr)
        }
        XCTAssertTrue(run.stdout.contains("audit                 ✓ every invariant holds"), run.stdout)
        XCTAssertTrue(run.stdout.contains("still waiting         0"), run.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: data.path + "/ledger.sqlite"), "it ran on SQLite")
        let audit = try binary.run(["audit", "--store", "postgres", "--postgres", url])
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
        XCTAssertTrue(audit.stdout.contains("✓ every invariant holds"), audit.stdout)
    }

    /// A scenario on `simulate --store postgres`: its redrive of the dead letters runs (the credit queue's, on
    /// either store; it used to be refused with the replica faults), and one with a replica step is refused
    /// before anything starts, pointing to the dashboard, whose replica steps act on the cluster's servers.
    func testSimulateOnPostgresPlaysARedriveAndRefusesReplicaStepsWithWhereTheyWork() async throws {
        let url = try await throwawayServerURL()
        let binary = try HongbaoBinary()
        let data = try TemporaryDirectory(prefix: "hongbao-simulate-pg-scenario")
        defer { data.remove() }
        // `simulate` on the server of the scenario `steps` (TOML) describes, two seconds long.
        func simulate(_ name: String, steps: String) throws -> HongbaoBinary.Result {
            let path = data.path + "/\(name).toml"
            try "name = \"\(name)\"\nduration = 2\n\(steps)".write(toFile: path, atomically: true, encoding: .utf8)
            return try binary.run(["simulate", "--store", "postgres", "--postgres", url, "--data", data.path,
                                   "--accounts", "50", "--scenario", path])
        }
        let run = try simulate("redrive", steps: """
            [[step]]
            at = 0
            rate = 20
            credit_failure = 50
            [[step]]
            at = 1
            redrive = true
            """)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("audit                 ✓ every invariant holds"), run.stdout)

        let refused = try simulate("replica", steps: """
            [[step]]
            at = 0
            replica_down = "b"
            """)
        XCTAssertEqual(refused.status, 2, refused.stdout + refused.stderr)
        XCTAssertTrue(refused.stderr.contains("play it in the dashboard (hongbao --store postgres --scenario FILE)"),
                      refused.stderr)
        XCTAssertEqual(refused.stdout, "", "nothing ran")
    }

    /// `audit --repair` on PostgreSQL after `kill -9` of the engine under load (30 % of credits failing, so the
    /// kill strands claims between their draw and their credit or their message): it runs the engine's
    /// recovery there and the audit after it is clean, where it used to refuse the store that its own hint
    /// sent the operator to.
    func testAuditRepairRunsTheRecoveryOnPostgresAfterAKill() async throws {
        let url = try await throwawayServerURL()
        let binary = try HongbaoBinary()
        let data = try TemporaryDirectory(prefix: "hongbao-repair-pg")
        defer { data.remove() }
        let store = ["--store", "postgres", "--postgres", url, "--data", data.path]
        let process = try binary.start(["simulate", "--duration", "30", "--rate", "400", "--accounts", "50",
                                        "--credit-failure", "30"] + store)
        // Killed once the load has opened shares (the audit counts transfers; the seed alone makes 50).
        let loaded = try await poll(timeout: .seconds(60), interval: .milliseconds(200)) {
            let audit = try binary.run(["audit", "--json"] + store)
            // Nothing to read until the engine has made its tables (the audit says so, not in JSON).
            let view = try? JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any]
            return (view?["transfers"] as? Int ?? 0) > 300
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertTrue(loaded, "the load opened shares before the kill")
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "simulate ended before the kill")

        let before = try binary.run(["audit"] + store)
        print("audit after the kill, before the repair (exit \(before.status)):\n" + before.stdout)
        let repaired = try binary.run(["audit", "--repair"] + store)
        XCTAssertEqual(repaired.status, 0, repaired.stdout + repaired.stderr)
        XCTAssertTrue(repaired.stdout.contains("✓ every invariant holds"), repaired.stdout)
        let audit = try binary.run(["audit"] + store)
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
        XCTAssertTrue(audit.stdout.contains("✓ every invariant holds"), audit.stdout)
    }

    /// The operator's commands (accounts, packets, grab and open, the lists, the audit) on a PostgreSQL server
    /// print what they print on SQLite, refusals included: the same books, the same rules, one code path.
    func testTheOperatorsCommandsPrintTheSameOnPostgresAsOnSQLite() async throws {
        let url = try await throwawayServerURL()
        let binary = try HongbaoBinary()
        let data = try TemporaryDirectory(prefix: "hongbao-cli-both")
        defer { data.remove() }
        let stores = [["--data", data.path + "/sqlite", "--durability", "normal"],
                      ["--data", data.path + "/pg", "--store", "postgres", "--postgres", url]]
        var transcripts: [[String]] = [[], []]
        for (index, store) in stores.enumerated() {
            var packet = "none"
            func run(_ command: [String]) throws {
                let result = try binary.run(command.map { $0 == "PACKET" ? packet : $0 } + store)
                let text = (result.stdout + result.stderr).replacingOccurrences(of: packet, with: "PACKET")
                    .replacingOccurrences(of: #"in [0-9.]+ s;"#, with: "in N s;", options: .regularExpression) // seed-demo's time
                transcripts[index].append("$ \(command.joined(separator: " ")) -> \(result.status)\n\(text)")
            }
            try run(["seed-demo", "--accounts", "20", "--seed", "8"])
            try run(["account", "open", "dora", "--deposit", "88.88"])
            try run(["account", "open", "dora"])
            let sent = try binary.run(["send", "alice", "8.88", "--to", "bob"] + store)
            XCTAssertEqual(sent.status, 0, sent.stderr)
            packet = sent.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try run(["send", "alice", "100000000", "--to", "bob"])
            try run(["open", "PACKET", "bob"])
            try run(["grab", "PACKET", "bob"])
            try run(["grab", "PACKET", "carol"])
            try run(["open", "PACKET", "bob"])
            try run(["open", "PACKET", "bob"])
            try run(["open", "nosuchpacket", "bob"])
            try run(["packet", "show", "PACKET"])
            try run(["packet", "sent", "alice"])
            try run(["packet", "received", "bob"])
            try run(["account", "show", "bob"])
            try run(["account", "show", "nobody"])
            try run(["account", "list", "--limit", "5"])
            try run(["account", "list", "--richest", "--limit", "5"])
            try run(["audit"])
        }
        XCTAssertEqual(transcripts[1].count, transcripts[0].count)
        for (sqlite, postgres) in zip(transcripts[0], transcripts[1]) {
            XCTAssertEqual(postgres, sqlite)
        }
        let all = transcripts[1].joined(separator: "\n")
        XCTAssertTrue(all.contains("bob opened ¥8.88: credited"), all)
        XCTAssertTrue(all.contains("✓ every invariant holds"), all)
        XCTAssertFalse(FileManager.default.fileExists(atPath: data.path + "/pg/ledger.sqlite"), "it ran on SQLite")
    }

    /// The queue's operator commands on PostgreSQL: list, stats and peek read the server's credit queue and its
    /// dead-letter queue as they are; redrive moves the dead letters back; the SQLite queue's other verbs refuse.
    func testTheQueuesReadingCommandsAndRedriveRunOnPostgres() async throws {
        let binary = try HongbaoBinary()
        let data = try TemporaryDirectory(prefix: "hongbao-pgqueue")
        defer { data.remove() }
        let url = try await throwawayServerURL()
        func run(_ arguments: [String]) throws -> HongbaoBinary.Result {
            try binary.run(["queue"] + arguments + ["--data", data.path, "--store", "postgres", "--postgres", url])
        }
        // Before the engine has made its tables: said as an error, nothing made.
        let early = try run(["stats", "credits"])
        XCTAssertNotEqual(early.status, 0, early.stdout)
        XCTAssertEqual(early.stderr.split(separator: "\n").count, 1, early.stderr)

        let settings = try PostgresSettings(url: url)
        let books = try await PostgresOperatorBooks(settings: settings, create: true)
        try await books.queue.send([(id: "m1", body: "first"), (id: "m2", body: "second"), (id: "m3", body: "third")])
        // One message received past its limit by a queue that buries after one receive: m1 goes to the dead letters.
        let strict = try await PostgresCreditQueue(pool: books.queue.pool, name: "credits", maxReceiveCount: 1, create: false)
        _ = try await strict.receiveRaw(max: 1, wait: .zero, visibility: .zero)
        _ = try await strict.receiveRaw(max: 1, wait: .zero, visibility: .zero)
        let held = try await books.queue.receiveRaw(max: 1, wait: .zero, visibility: .seconds(60))
        XCTAssertEqual(held.map(\.body), ["second"])
        await books.close()

        XCTAssertEqual(try run(["list"]).stdout, "credits\ncredits-dlq\n")
        let stats = try run(["stats", "credits", "--json"])
        XCTAssertEqual(stats.status, 0, stats.stderr)
        let figures = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(figures["visible"] as? Int, 1)
        XCTAssertEqual(figures["inFlight"] as? Int, 1)
        XCTAssertEqual(figures["deadLettered"] as? Int, 1)
        XCTAssertNotNil(figures["oldestAgeSeconds"] as? Double)
        XCTAssertTrue(try run(["stats", "credits"]).stdout.contains("dead-lettered      1"))
        XCTAssertEqual(try run(["peek", "credits"]).stdout, "m2\t1\tsecond\nm3\t0\tthird\n")
        XCTAssertEqual(try run(["peek", "credits-dlq"]).stdout, "m1\t1\tfirst\n")

        let unknown = try run(["stats", "jobs"])
        XCTAssertEqual(unknown.status, 3, unknown.stderr)
        XCTAssertEqual(unknown.stderr, "hongbao: no queue named 'jobs'\n")
        let notDead = try run(["redrive", "credits"])
        XCTAssertEqual(notDead.status, 2, notDead.stderr)
        XCTAssertTrue(notDead.stderr.contains("not a dead-letter queue"), notDead.stderr)
        let send = try run(["send", "credits", "x"])
        XCTAssertEqual(send.status, 2, send.stderr)
        XCTAssertTrue(send.stderr.contains("queue list, stats, peek and redrive"), send.stderr)
        XCTAssertEqual(try run(["peek", "credits"]).stdout, "m2\t1\tsecond\nm3\t0\tthird\n", "refusals changed nothing")

        XCTAssertEqual(try run(["redrive", "credits-dlq"]).stdout, "redrove 1 message(s)\n")
        XCTAssertEqual(try run(["peek", "credits-dlq"]).stdout, "no message: credits-dlq holds none\n")
        XCTAssertTrue(try run(["peek", "credits"]).stdout.contains("m1\t0\tfirst\n"))

        // The queues an operator makes are kept beside the credit queue, and every other verb works on them.
        let theirs = try run(["create", "jobs", "--dead-letter", "credits-dlq"])
        XCTAssertEqual(theirs.status, 2, theirs.stderr)
        XCTAssertTrue(theirs.stderr.contains("credits-dlq is the engine's credit queue"), theirs.stderr)
        XCTAssertEqual(try run(["create", "jobs-dlq"]).stdout, "created queue jobs-dlq\n")
        XCTAssertEqual(try run(["create", "jobs", "--dead-letter", "jobs-dlq", "--max-receive-count", "1"]).stdout, "created queue jobs\n")
        XCTAssertEqual(try run(["send", "jobs", "hello", "--id", "j1"]).stdout, "j1\n")
        XCTAssertEqual(try run(["send", "jobs", "hello", "--id", "j1"]).stdout, "j1 (already present)\n")
        XCTAssertEqual(try run(["list"]).stdout, "credits\ncredits-dlq\njobs\njobs-dlq\n")
        let received = try run(["receive", "jobs", "--visibility", "1"])
        let receipt = try XCTUnwrap(received.stdout.split(separator: "\t").first.map(String.init), received.stderr)
        let jobs = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try run(["stats", "jobs", "--json"]).stdout.utf8)) as? [String: Any])
        XCTAssertEqual(jobs["inFlight"] as? Int, 1, "\(jobs)")
        XCTAssertEqual(try run(["delete", "jobs", receipt]).stdout, "deleted j1\n")
        XCTAssertEqual(try run(["peek", "jobs"]).stdout, "no message: jobs holds none\n")
    }

    /// A throwaway PostgreSQL server for this test (stopped after it), as a `--postgres` URL.
    private func throwawayServerURL() async throws -> String {
        let login = try await TestPostgres.start(self).primary
        return "postgres://\(login.user):\(login.password)@\(login.host):\(login.port)/\(login.database)"
    }
}
