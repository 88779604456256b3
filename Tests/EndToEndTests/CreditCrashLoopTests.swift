import Foundation
import GRDB
import Primitives
import XCTest

/// The credit path under `kill -9`: the real binary runs the Gala load with 30 % credit failures and is
/// killed at seeded random moments, again and again; each start runs recovery. After a last run that only
/// drains, every claim ever opened must be credited exactly once and the audit must pass.
final class CreditCrashLoopTests: XCTestCase {
    /// Kill rounds; each lasts a random 0.25–1.5 s, start-up and recovery included (they take a few tenths of
    /// a second: some kills land in them, most mid-load).
    static let rounds = 12

    func testKillNineDuringLoadWithCreditFailuresLosesNothingAndCreditsNothingTwice() throws {
        let binary = try HongbaoBinary()
        let data = ScratchRoot.path() + "/hongbao-credit-crash-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let common = ["--data", data, "--accounts", "500", "--durability", "normal"]

        var seed: UInt64 = 0xC4ED_17C4_A5E5
        var claimsSeen: [Int] = []
        var strandedSeen: [Int] = []
        // At least `rounds` kills, and more (up to four times as many) while the load has opened too few shares for
        // the kills to have landed among them: on a loaded machine start-up eats more of each round.
        var round = 0
        while round < Self.rounds || ((claimsSeen.last ?? 0) <= Self.rounds * 50 && round < Self.rounds * 4) {
            defer { round += 1 }
            let process = try binary.start(["simulate", "--rate", "600", "--credit-failure", "30", "--duration", "30",
                                            "--seed", "\(round + 1)"] + common)
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // A random moment, not a wait for a condition: start-up, recovery, or mid-load.
            usleep(useconds_t(250_000 + (seed >> 33) % 1_250_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .uncaughtSignal, "round \(round) ended before the kill")
            let figures = try Self.claimFigures(data)
            claimsSeen.append(figures.claims)
            strandedSeen.append(figures.crediting) // left mid-open by the kill: the next start re-queues them
        }
        print("credit crash loop: claims after each kill \(claimsSeen); crediting (stranded) \(strandedSeen)")
        XCTAssertGreaterThan(claimsSeen.last ?? 0, Self.rounds * 50, "the load opened shares between kills")

        let drain = try binary.run(["simulate", "--rate", "0", "--credit-failure", "0", "--duration", "1",
                                    "--drain", "60", "--json"] + common)
        XCTAssertEqual(drain.status, 0, "the draining run's audit failed: \(drain.stdout) \(drain.stderr)")
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(drain.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["stillWaiting"] as? Int, 0, "every claim credited after the drain: \(summary)")
        XCTAssertEqual((summary["auditViolations"] as? [Any])?.count, 0, "\(summary)")

        let audit = try binary.run(["audit", "--json", "--data", data])
        XCTAssertEqual(audit.status, 0, "audit: \(audit.stdout) \(audit.stderr)")
        let verdict = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(verdict["ok"] as? Bool, true, "\(verdict)")

        let figures = try Self.claimFigures(data)
        XCTAssertGreaterThanOrEqual(figures.claims, claimsSeen.last ?? 0, "no claim disappeared")
        XCTAssertEqual(figures.uncredited, 0, "every claim is credited")
        XCTAssertEqual(figures.creditTransfers, figures.claims, "one credit transfer per claim")
        XCTAssertEqual(figures.mismatched, 0, "each claim's credit transfer moved the claim's amount")
    }

    struct ClaimFigures {
        var claims: Int
        var uncredited: Int
        var crediting: Int
        var creditTransfers: Int
        var mismatched: Int
    }

    /// Read straight from the two systems' files (read-only), independently of the binary's own audit: the
    /// claims from the red-packet store, the credit transfers from the ledger.
    static func claimFigures(_ data: String) throws -> ClaimFigures {
        let packetsPath = data + "/redpackets.sqlite", ledgerPath = data + "/ledger.sqlite"
        guard FileManager.default.fileExists(atPath: packetsPath), FileManager.default.fileExists(atPath: ledgerPath) else {
            return ClaimFigures(claims: 0, uncredited: 0, crediting: 0, creditTransfers: 0, mismatched: 0)
        }
        var configuration = Configuration()
        configuration.readonly = true
        let packets = try DatabaseQueue(path: packetsPath, configuration: configuration)
        let ledger = try DatabaseQueue(path: ledgerPath, configuration: configuration)
        defer {
            try? packets.close()
            try? ledger.close()
        }
        let claims = try packets.read { db in
            try Row.fetchAll(db, sql: "SELECT id, amount, state FROM claim").map {
                (id: $0[0] as String, amount: $0[1] as Int64, state: $0[2] as String)
            }
        }
        let credits = try ledger.read { db in
            try Row.fetchAll(db, sql: "SELECT id, amount FROM transfer WHERE id >= 'claim:' AND id < 'claim;'")
                .reduce(into: [String: Int64]()) { $0[String(($1[0] as String).dropFirst("claim:".count))] = $1[1] }
        }
        return ClaimFigures(
            claims: claims.count,
            uncredited: claims.filter { $0.state != "credited" }.count,
            crediting: claims.filter { $0.state == "crediting" }.count,
            creditTransfers: credits.count,
            mismatched: claims.filter { credits[$0.id] != $0.amount }.count)
    }
}
