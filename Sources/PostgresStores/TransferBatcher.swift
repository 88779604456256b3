import Ledger
import PostgresNIO
import Primitives
import Synchronization

/// The ledger's group commit on PostgreSQL: transfers submitted while a batch is committing wait and go
/// together in the next one, one transaction and one round trip (`hb_transfer_batch`) for up to
/// `maxBatch` transfers. One batch at a time: every credit touches the settlement account's row, so two
/// batches at once would only queue on its lock.
///
/// A batch whose connection is lost (even during COMMIT, when it may have committed) is run again: each
/// transfer is idempotent by id, so a transfer the lost COMMIT did commit comes back as a replay of the same
/// ledger row, which is reported as applied (the sequence number proves it is this call's own row).
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

    /// One batch, retried after a lost connection. What a first attempt saw applied (before its COMMIT's
    /// fate was known) is remembered by sequence number.
    private static func run(_ requests: [TransferRequest], pool: PostgresPool, maxAmount: Money,
                            now: Timestamp) async throws -> [Result<TransferOutcome, any Error>] {
        let appliedBefore = Mutex<[TransferID: Int64]>([:])
        return try await pool.retrying {
            // Only what an earlier, lost attempt applied: within one attempt a repeated id is a true replay.
            let seen = appliedBefore.withLock { $0 }
            let results = try await pool.transaction(profiledAs: "ledger") { connection in
                try await TransferBatcher.execute(requests, now: now, maxAmount: maxAmount, on: connection,
                                                  logger: pool.logger)
            } onCommitSent: { results in
                appliedBefore.withLock { seen in
                    for case let .success(.applied(record)) in results { seen[record.id] = record.sequence }
                }
            }
            return results.map { result in
                if case let .success(.alreadyApplied(record)) = result, seen[record.id] == record.sequence {
                    return .success(.applied(record))
                }
                return result
            }
        }
    }

    static func execute(_ requests: [TransferRequest], now: Timestamp, maxAmount: Money, on connection: PostgresConnection,
                        logger: Logger) async throws -> [Result<TransferOutcome, any Error>] {
        let ids = requests.map(\.id.rawValue)
        let froms = requests.map(\.from.rawValue)
        let tos = requests.map(\.to.rawValue)
        let amounts = requests.map(\.amount.minorUnits)
        let memos = requests.map(\.memo)
        let rows = try await connection.query("""
            SELECT ord, status, seq, debit_id, credit_id, amount, memo, debit_after, credit_after, created_at, detail
            FROM hb_transfer_batch(\(ids), \(froms), \(tos), \(amounts), \(memos), \(now.millisecondsSinceEpoch),
                                   \(maxAmount.minorUnits))
            """, logger: logger)
        var results: [Result<TransferOutcome, any Error>] = []
        results.reserveCapacity(requests.count)
        for try await (ord, status, seq, debit, credit, amount, memo, debitAfter, creditAfter, at, detail) in rows.decode(
            (Int, String, Int64?, Int64?, Int64?, Int64?, String?, Int64?, Int64?, Int64?, String?).self) {
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
