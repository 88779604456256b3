import Ledger
import PostgresNIO
import Primitives
import Synchronization

/// The ledger's group commit on PostgreSQL: transfers submitted while a batch is committing wait and go
/// together in the next one, one statement in a transaction of its own (`hb_transfer_batch`, one round trip and
/// one commit) for up to `maxBatch` transfers. One batch at a time: every credit touches the settlement
/// account's row, so two batches at once would only queue on its lock.
///
/// A batch whose connection is lost before its answer came (even while its commit waited for a standby, when
/// it may have committed) is run again: each transfer is idempotent by id, and each carries a random token its
/// call chose before the first attempt, stored with the row it applies, so a transfer the lost attempt did
/// commit comes back `applied` (this call's own row, by its token), where another call's is a replay.
final class TransferBatcher: Sendable {
    /// The batches, one at a time, each call answered with its own outcome or refusal.
    private let calls: GroupedCalls<TransferRequest, Result<TransferOutcome, any Error>>

    init(pool: PostgresPool, maxBatch: Int, maxAmount: Money, clock: any WallClock) {
        calls = GroupedCalls(maxBatch: maxBatch, concurrentBatches: 1, profile: (pool.profile, "ledger")) { requests in
            try await TransferBatcher.run(requests, pool: pool, maxAmount: maxAmount, now: clock.now())
        }
    }

    /// How many batches have committed (the ledger's commit count).
    var commitCount: Int { calls.answeredCount }

    func submit(_ request: TransferRequest) async throws -> TransferOutcome {
        try await calls.submit(request).get()
    }

    /// A random token for each transfer of a batch, chosen once for all its attempts.
    static func tokens(_ count: Int) -> [Int64] {
        (0..<count).map { _ in Int64.random(in: 1...Int64.max) }
    }

    /// One batch, one statement, retried after a lost connection with the same tokens.
    private static func run(_ requests: [TransferRequest], pool: PostgresPool, maxAmount: Money,
                            now: Timestamp) async throws -> [Result<TransferOutcome, any Error>] {
        let query = statement(requests, tokens: tokens(requests.count), now: now, maxAmount: maxAmount)
        let call = PreparedCall<TransferBatchCall>(query)
        let rows = try await pool.retrying { try await pool.run(call, profiledAs: "ledger") }
        return try results(of: requests, rows)
    }

    /// The batch's call of `hb_transfer_batch` (run prepared: `TransferBatchCall`).
    static func statement(_ requests: [TransferRequest], tokens: [Int64], now: Timestamp, maxAmount: Money)
        -> PostgresQuery {
        let ids = requests.map(\.id.rawValue)
        let froms = requests.map(\.from.rawValue)
        let tos = requests.map(\.to.rawValue)
        let amounts = requests.map(\.amount.minorUnits)
        let memos = requests.map(\.memo)
        return """
            SELECT ord, status, seq, debit_id, credit_id, amount, memo, debit_after, credit_after, created_at, detail
            FROM hb_transfer_batch(\(ids), \(froms), \(tos), \(amounts), \(memos), \(tokens),
                                   \(now.millisecondsSinceEpoch), \(maxAmount.minorUnits))
            """
    }

    /// The batch in the caller's transaction (an account opened with its deposit, accounts seeded in bulk).
    static func execute(_ requests: [TransferRequest], now: Timestamp, maxAmount: Money, on connection: PostgresConnection,
                        logger: Logger) async throws -> [Result<TransferOutcome, any Error>] {
        var rows: [PostgresRow] = []
        let call = PreparedCall<TransferBatchCall>(
            statement(requests, tokens: tokens(requests.count), now: now, maxAmount: maxAmount))
        for try await row in try await connection.execute(call, logger: logger) { rows.append(row) }
        return try results(of: requests, rows)
    }

    /// Each request's outcome or refusal from the batch's rows.
    static func results(of requests: [TransferRequest], _ rows: [PostgresRow]) throws -> [Result<TransferOutcome, any Error>] {
        var results: [Result<TransferOutcome, any Error>] = []
        results.reserveCapacity(requests.count)
        for row in rows {
            let (ord, status, seq, debit, credit, amount, memo, debitAfter, creditAfter, at, detail) = try row.decode(
                (Int, String, Int64?, Int64?, Int64?, Int64?, String?, Int64?, Int64?, Int64?, String?).self)
            let request = requests[ord - 1]
            func record() -> TransferRecord {
                TransferRecord(sequence: seq ?? 0, id: request.id, from: AccountID(debit ?? 0), to: AccountID(credit ?? 0),
                               amount: Money(minorUnits: amount ?? 0), memo: memo ?? "",
                               fromBalanceAfter: Money(minorUnits: debitAfter ?? 0),
                               toBalanceAfter: Money(minorUnits: creditAfter ?? 0),
                               at: Timestamp(millisecondsSinceEpoch: at ?? 0))
            }
            switch status {
            case "applied": results.append(.success(.applied(record())))
            case "replay": results.append(.success(.alreadyApplied(record())))
            case "conflict": results.append(.failure(LedgerError.idempotencyConflict(request.id)))
            case "voided": results.append(.failure(LedgerError.voidedTransfer(request.id)))
            case "invalid_amount": results.append(.failure(LedgerError.invalidAmount(request.amount)))
            case "same_account": results.append(.failure(LedgerError.sameAccount(request.from)))
            case "unknown_from": results.append(.failure(LedgerError.unknownAccountID(request.from)))
            case "unknown_to": results.append(.failure(LedgerError.unknownAccountID(request.to)))
            case "insufficient":
                results.append(.failure(LedgerError.insufficientFunds(
                    account: detail ?? "\(request.from.rawValue)", balance: Money(minorUnits: debitAfter ?? 0),
                    needed: request.amount)))
            case "overflow": results.append(.failure(LedgerError.arithmeticOverflow))
            default: results.append(.failure(PostgresStoreError.server("unknown transfer status \(status)")))
            }
        }
        guard results.count == requests.count else {
            throw PostgresStoreError.server("a batch of \(requests.count) transfers returned \(results.count) results")
        }
        return results
    }
}

/// The text of every batch's call of `hb_transfer_batch` (a batch of nothing's), which runs prepared.
enum TransferBatchCall: CallText {
    static let name = "hb_transfer_batch_call"
    static let sql = TransferBatcher.statement([], tokens: [], now: Timestamp(millisecondsSinceEpoch: 0),
                                               maxAmount: Money(minorUnits: 0)).sql
}
