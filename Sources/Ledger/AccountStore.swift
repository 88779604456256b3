import Primitives

/// The account system as the other systems see it: idempotent transfers between accounts, lookups, and the
/// audit. `Ledger` is the SQLite implementation; another storage engine (a network database) implements this
/// protocol, which is why everything a network round trip would serve is `async`.
public protocol AccountStore: Sendable {
    /// The red-packet system's settlement account.
    var settlementAccountID: AccountID { get }
    /// Moves money between two accounts, idempotently by the request's id (see `LedgerTransaction.transfer`).
    func transfer(_ request: TransferRequest) async throws -> TransferOutcome
    /// `transfer` without a waiting task: `completion` gets its outcome or error (on a thread of the store's
    /// choosing; keep it short). The default runs `transfer` on a task of its own.
    func transfer(_ request: TransferRequest, completion: @escaping @Sendable (Result<TransferOutcome, any Error>) -> Void)
    /// The user account with that name (not the mint, not settlement accounts).
    func userAccount(named name: String) async throws -> Account?
    /// The ids of the user accounts with these names, in the same order (nil: no such user account), looked up
    /// together: for a caller that acts as many users, as the Gala load does, which then opens as each user's
    /// account (an authenticated session's identity) instead of looking a name up at every open. The default
    /// looks each name up with `userAccount(named:)`.
    func userAccountIDs(named names: [String]) async throws -> [AccountID?]
    /// The transfers with these ids that exist.
    func transfers(_ ids: [TransferID]) async throws -> [TransferID: TransferRecord]
    /// Decides, for good, which of these transfers happened: answers those that exist once every write of them
    /// already under way has ended (a write waiting in the writer's queue, a commit waiting on a server), and
    /// voids every other id in the same write, so that a transfer with it is refused from then on
    /// (`LedgerError.voidedTransfer`), whoever sends it and however late: a retry after an unclear commit, a
    /// call that gave up and is made again, another process. Recovery settles a send whose payment call failed
    /// by it: a packet cancelled because its payment is missing can never be paid afterwards.
    func settleTransfers(_ ids: [TransferID]) async throws -> [TransferID: TransferRecord]
    /// Every transfer whose id starts with `prefix` (`claim:`, `send:`, `refund:`), for cross-system audits.
    func transfers(withPrefix prefix: String) async throws -> [TransferRecord]
    /// An account's current balance.
    func balance(of account: AccountID) async throws -> Money?
    /// The ledger's own invariants that do not hold.
    func auditAccounts() async throws -> [AuditViolation]
}

extension AccountStore {
    public func userAccountIDs(named names: [String]) async throws -> [AccountID?] {
        var ids: [AccountID?] = []
        ids.reserveCapacity(names.count)
        for name in names { ids.append(try await userAccount(named: name)?.id) }
        return ids
    }

    public func transfer(_ request: TransferRequest,
                         completion: @escaping @Sendable (Result<TransferOutcome, any Error>) -> Void) {
        Task {
            do { completion(.success(try await transfer(request))) } catch { completion(.failure(error)) }
        }
    }
}

extension Ledger: AccountStore {
    public func userAccount(named name: String) async throws -> Account? {
        try readStatement { try LedgerQueries.userAccount(named: name, in: $0) }
    }

    /// One read: a million names take a few seconds, where one lookup per open cost a sixth of the CPU of the
    /// Gala load over a million accounts (DESIGN.md, section 5).
    public func userAccountIDs(named names: [String]) async throws -> [AccountID?] {
        try readStatement { database in
            try names.map { name in
                try LedgerQueries.userAccount(named: name, in: database)?.id
            }
        }
    }

    public func transfers(_ ids: [TransferID]) async throws -> [TransferID: TransferRecord] {
        try read { database in try LedgerQueries.transfers(ids, in: database) }
    }

    public func transfers(withPrefix prefix: String) async throws -> [TransferRecord] {
        try transfersNow(withPrefix: prefix)
    }

    /// A write of the group-commit writer: every write queued before it has committed or failed, and every
    /// write after it sees the voids.
    public func settleTransfers(_ ids: [TransferID]) async throws -> [TransferID: TransferRecord] {
        guard !ids.isEmpty else { return [:] }
        return try await write { transaction in try transaction.settleTransfers(ids) }
    }

    public func balance(of account: AccountID) async throws -> Money? {
        try self.account(id: account)?.balance
    }

    public func auditAccounts() async throws -> [AuditViolation] {
        try auditLedger()
    }

    /// `transfers(withPrefix:)` on the caller's thread (CLI, simulation checks).
    public func transfersNow(withPrefix prefix: String) throws -> [TransferRecord] {
        // A range over the unique index on id: every id that starts with `prefix`.
        let upper = prefix + "\u{10FFFF}"
        return try read { database in
            try database.fetchAll(prepared: """
                SELECT seq, id, debit_id, credit_id, amount, memo, debit_balance_after, credit_balance_after, created_at
                FROM transfer WHERE id >= ? AND id < ? ORDER BY id
                """, prefix, upper, map: LedgerQueries.transfer(from:))
        }
    }

    /// Every account (mint and settlement included) by name: simulation checks and digests.
    public func allAccounts() throws -> [Account] {
        try read { database in
            try database.fetchAll(prepared: "SELECT id, name, kind, balance, created_at FROM account ORDER BY name",
                                  map: LedgerQueries.account(from:))
        }
    }

    /// The ids of every user account (benchmarks pick transfer partners from them).
    public func userAccountIDs() throws -> [AccountID] {
        try read { database in
            try database.fetchAll(prepared: "SELECT id FROM account WHERE kind = 'user' ORDER BY id") {
                AccountID($0.int64(0))
            }
        }
    }
}
