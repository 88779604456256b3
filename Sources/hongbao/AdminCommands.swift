import ArgumentParser
import Engine
import Foundation
import Ledger
import Primitives

/// `hongbao seed-demo [--accounts N]`.
struct SeedDemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-demo", abstract: "Create demo accounts with balances (idempotent).")
    @OptionGroup var data: DataOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "How many numbered accounts besides the named people.") var accounts = 1_000
    @Option(help: "Seed for the random balances.") var seed: UInt64 = 8

    struct View: Encodable {
        let created: Int
        let accounts: Int
        let seconds: Double
    }

    func validate() throws {
        guard (0...10_000_000).contains(accounts) else { throw ValidationError("--accounts must be 0 to 10,000,000") }
    }

    func run() async throws {
        let store = try await data.openStore()
        let started = ContinuousClock.now
        let seeder = DemoSeeder(ledger: store.ledger, random: SeededRandomSource(seed: seed))
        let created = try userErrors {
            try seeder.seed(count: accounts) { done in
                if !output.json { FileHandle.standardError.write(Data("\rseeding: \(done) accounts".utf8)) }
            }
        }
        let seconds = (ContinuousClock.now - started).secondsDouble
        let total = try userErrors { try store.ledger.userAccountCount() }
        if output.json { return try Output.json(View(created: created, accounts: total, seconds: seconds)) }
        FileHandle.standardError.write(Data("\n".utf8))
        Output.line("created \(created) accounts in \(String(format: "%.1f", seconds)) s; \(total) accounts in all")
    }
}

/// `hongbao audit [--json]`: exit 0 only when every invariant holds.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Check every invariant of the books; exit 0 only if all hold.")
    @OptionGroup var data: DataOptions
    @OptionGroup var output: OutputOptions

    struct View: Encodable {
        let ok: Bool
        let moneyIssued: String
        let sumOfBalances: String
        let transfers: Int64
        let accounts: Int64
        let violations: [AuditViolation]
    }

    func run() async throws {
        let (violations, totals) = try await check()
        if output.json {
            try Output.json(View(ok: violations.isEmpty, moneyIssued: totals.moneyIssued.decimalString,
                                 sumOfBalances: totals.sumOfBalances.decimalString, transfers: totals.transferCount,
                                 accounts: totals.accountCount, violations: violations))
        } else {
            Output.line("money issued \(totals.moneyIssued.formatted), balances sum to \(totals.sumOfBalances.formatted), "
                        + "\(totals.transferCount) transfers, \(totals.accountCount) accounts")
            for violation in violations { Output.line("✗ \(violation)") }
            Output.line(violations.isEmpty ? "✓ every invariant holds" : "✗ \(violations.count) invariants broken")
        }
        if !violations.isEmpty { throw ExitCode(1) }
    }

    /// With a queue in the directory, the engine's audit (ledger, packets, credit messages, replicas agree),
    /// opened without recovery so that the books are checked as they are; without one, ledger and packets.
    private func check() async throws -> ([AuditViolation], LedgerTotals) {
        let path = data.data ?? DataDirectory.defaultPath()
        guard FileManager.default.fileExists(atPath: path + "/queue") else {
            let store = try await data.openStore()
            return try userErrors { (try store.audit(), try store.ledger.totals()) }
        }
        var configuration = EngineConfiguration(dataPath: path, workers: 1)
        configuration.durability = data.durability
        configuration.recoverOnStart = false
        let engine = try await userErrors { try await Engine.start(configuration) }
        let result = try await userErrors { (try await engine.audit(), try engine.ledger.totals()) }
        await engine.close()
        return result
    }
}
