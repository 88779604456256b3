import ArgumentParser
import Engine
import Foundation
import Ledger
import PostgresStores
import Primitives
import RedPackets

/// `hongbao seed-demo [--accounts N]`.
struct SeedDemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-demo", abstract: "Create demo accounts with balances (idempotent).")
    @OptionGroup var data: DataOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "How many numbered accounts besides the named people (0–10,000,000).") var accounts = "1000"
    @Option(help: "Seed for the random balances.") var seed = "8"

    struct View: Encodable {
        let created: Int
        let accounts: Int
        let seconds: Double
    }

    func run() async throws {
        let count = try NumberOption.integer(accounts, "--accounts", 0...10_000_000)
        let seed = try NumberOption.seed(seed)
        let started = ContinuousClock.now
        // A progress line rewritten in place on a terminal; into a file or pipe nothing but the result.
        let onTerminal = !output.json && isatty(STDERR_FILENO) == 1
        let (created, total) = try await data.withWritableBooks { books in
            try await userErrors {
                let created = try await books.seedDemoAccounts(count: count, random: SeededRandomSource(seed: seed)) { done in
                    if onTerminal { FileHandle.standardError.write(Data("\r\u{1B}[Kseeding: \(done) accounts".utf8)) }
                }
                return (created, try await books.userAccountCount())
            }
        }
        let seconds = (ContinuousClock.now - started).secondsDouble
        if output.json { return try Output.json(View(created: created, accounts: total, seconds: seconds)) }
        if onTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        Output.line("created \(created) accounts in \(String(format: "%.1f", seconds)) s; \(total) accounts in all")
    }
}

/// `hongbao audit [--repair] [--json]`: exit 0 only when every invariant holds and nothing awaits recovery.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check every invariant of the books, changing nothing; exit 0 only if all hold.",
        discussion: """
            The books are opened read-only: a replica that is behind or damaged, and claims a stopped run left \
            crediting, are reported as awaiting recovery, not repaired. The engine repairs them when it \
            starts; --repair does that first (the same recovery as a start), then audits.
            """)
    @OptionGroup var data: DataOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Run the engine's start-up recovery first (catch up and rebuild replicas, re-queue stranded credits).")
    var repair = false

    struct View: Encodable {
        let ok: Bool
        let moneyIssued: String
        let sumOfBalances: String
        let transfers: Int64
        let accounts: Int64
        let violations: [AuditViolation]
        let awaitingRecovery: [String]
        let repaired: [String]?
    }

    func run() async throws {
        let repaired = repair ? try await runRecovery() : nil
        let report = try await data.withReadableBooks { books in try await userErrors { try await books.audit() } }
        let totals = report.totals
        if output.json {
            try Output.json(View(ok: report.isClean, moneyIssued: totals.moneyIssued.decimalString,
                                 sumOfBalances: totals.sumOfBalances.decimalString, transfers: totals.transferCount,
                                 accounts: totals.accountCount, violations: report.violations,
                                 awaitingRecovery: report.awaitingRecovery, repaired: repaired))
        } else {
            for line in repaired ?? [] { Output.line("repaired: \(line)") }
            Output.line("money issued \(totals.moneyIssued.formatted), balances sum to \(totals.sumOfBalances.formatted), "
                        + "\(totals.transferCount) transfers, \(totals.accountCount) accounts")
            for violation in report.violations { Output.line("✗ \(violation)") }
            for line in report.awaitingRecovery { Output.line("… \(line)") }
            if !report.violations.isEmpty {
                Output.line("✗ \(report.violations.count) invariants broken")
            } else if !report.awaitingRecovery.isEmpty {
                Output.line("… the books hold, but recovery is pending: start the engine or run `hongbao audit --repair`")
            } else {
                Output.line("✓ every invariant holds")
            }
        }
        if !report.isClean { throw ExitCode(ExitStatus.checkFailed) }
    }

    /// Starts the engine (its recovery runs), stops it, and returns what it repaired and recovered.
    private func runRecovery() async throws -> [String] {
        if data.store == .sqlite {
            let path = try data.path()
            guard FileManager.default.fileExists(atPath: path) else {
                throw UserError(DataDirectoryError.missing(path: URL(fileURLWithPath: path).standardizedFileURL.path))
            }
        }
        let engine = try await userErrors { try await Engine.start(data.engineConfiguration(workers: 1)) }
        // On SQLite only: the queue's replicas repaired at open.
        let repairs = (try? engine.sqlite().queue.repairsAtOpen) ?? []
        let lines = repairs.map(\.summary)
            + engine.recentEvents().filter { $0.kind == .recovery && !$0.text.hasPrefix("repaired at open") }.map(\.text)
        // Nothing ran since the start's recovery: closing does not settle again (a second pass over the same
        // claims and sends, which found nothing new).
        await engine.close(settle: false)
        return lines
    }
}
