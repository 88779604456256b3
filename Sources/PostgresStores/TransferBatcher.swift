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
    private struct Pending {
        let request: TransferRequest
        let continuation: CheckedContinuation<TransferOutcome, any Error>
        let submitted = ContinuousClock.now
    }

    private struct State {
        var queue: [Pending] = []
        var running = false
    }

    private let pool: PostgresPool
    private let maxBatch: Int
    private let maxAmount: Money
    private let clock: any WallClock
    private let state = Mutex(State())
    private let batches = Atomic<Int>(0)

    init(pool: PostgresPool, maxBatch: Int, maxAmount: Money, clock: any WallClock) {
        self.pool = pool
        self.maxBatch = max(1, maxBatch)
        self.maxAmount = maxAmount
        self.clock = clock
    }

    /// How many batches have committed (the ledger's commit count).
    var commitCount: Int { batches.load(ordering: .relaxed) }

    func submit(_ request: TransferRequest) async throws -> TransferOutcome {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state -> Bool in
                state.queue.append(Pending(request: request, continuation: continuation))
                guard !state.running else { return false }
                state.running = true
                return true
            }
            if start { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Pending] in
                guard !state.queue.isEmpty else {
                    state.running = false
                    return []
                }
                let batch = Array(state.queue.prefix(maxBatch))
                state.queue.removeFirst(batch.count)
                return batch
            }
            if batch.isEmpty { return }
            let taken = ContinuousClock.now
            for pending in batch { pool.profile.record("ledger.queued", taken - pending.submitted) }
            do {
                let outcomes = try await run(batch.map(\.request))
                batches.add(1, ordering: .relaxed)
                let done = ContinuousClock.now
                pool.profile.record("ledger.batch", done - taken, items: batch.count)
                for (pending, outcome) in zip(batch, outcomes) {
                    pool.profile.record("ledger.total", done - pending.submitted)
                    pending.continuation.resume(with: outcome)
                }
            } catch {
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }

    /// One batch, retried after a lost connection. What a first attempt saw applied (before its COMMIT's
    /// fate was known) is remembered by sequence number.
    private func run(_ requests: [TransferRequest]) async throws -> [Result<TransferOutcome, any Error>] {
        let now = clock.now()
        let appliedBefore = Mutex<[TransferID: Int64]>([:])
        let pool = pool, maxAmount = maxAmount
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
