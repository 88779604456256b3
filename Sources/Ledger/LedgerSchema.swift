import GRDB
import Primitives

/// The ledger's tables, as named forward-only migrations.
///
/// Balances live on the account row; each transfer row records both balances it left behind, and each account's
/// transfers form a chain, newest first: the account row holds its newest transfer's `seq` (`last_seq`), each
/// transfer the previous one of its debit and of its credit account (`debit_prev_seq`, `credit_prev_seq`). An
/// account's bill (statement with running balance) follows the chain. No index on the transfer table but the
/// id's: a transfer appends its row and changes only the two account rows (see `ledger.v6-account-chain`).
/// Balances are not indexed (see `ledger.v2`).
enum LedgerSchema {
    /// Marks a database as Hongbao's, so that a foreign SQLite file is refused rather than written.
    static let applicationID: Int32 = 0x4842_4C44 // "HBLD"

    static func register(path: String, in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("ledger.v1") { database in
            try database.execute(sql: """
                CREATE TABLE account (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    kind TEXT NOT NULL CHECK (kind IN ('user', 'mint', 'escrow')),
                    balance INTEGER NOT NULL CHECK (balance >= 0 OR kind = 'mint'),
                    created_at INTEGER NOT NULL
                );
                -- Richest users first (dashboard, `account list --richest`). Partial: escrow and mint balances change
                -- on nearly every transfer and are never ranked, so they stay out of the index.
                CREATE INDEX account_by_balance ON account (balance) WHERE kind = 'user';
                CREATE TABLE transfer (
                    seq INTEGER PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    debit_id INTEGER NOT NULL REFERENCES account (id),
                    credit_id INTEGER NOT NULL REFERENCES account (id),
                    amount INTEGER NOT NULL CHECK (amount > 0),
                    debit_balance_after INTEGER NOT NULL,
                    credit_balance_after INTEGER NOT NULL,
                    memo TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    CHECK (debit_id <> credit_id)
                );
                CREATE INDEX transfer_by_debit ON transfer (debit_id, seq);
                CREATE INDEX transfer_by_credit ON transfer (credit_id, seq);
                """)
            try database.execute(
                sql: "INSERT INTO account (name, kind, balance, created_at) VALUES ('mint', 'mint', 0, 0)")
        }
        // Every credit and debit of a user moved that user's entry in the balance index: a B-tree delete and
        // insert per balance change, and a page dirtied and written to the WAL. Without it the ledger bench ran
        // 27–43 % faster. "Richest first" now scans the account table (87 ms at 1M accounts), which the CLI
        // does once and the engine every couple of seconds, with its conservation check.
        migrator.registerMigration("ledger.v2") { database in
            try database.execute(sql: "DROP INDEX IF EXISTS account_by_balance")
        }
        // The red-packet system keeps its own database; its money sits here in one settlement account. A ledger
        // that still holds red-packet tables comes from the single-database layout and is refused, untouched
        // (this migration's transaction rolls back).
        migrator.registerMigration("ledger.v3") { database in
            if try database.tableExists("packet") { throw LedgerError.singleDatabaseLayout(path: path) }
            try database.execute(sql: """
                INSERT INTO account (name, kind, balance, created_at) VALUES (?, 'escrow', 0, 0)
                ON CONFLICT (name) DO NOTHING
                """, arguments: [Account.settlementName])
        }
        // Look-alike names: `name_key` is `TextRules.lookalikeKey(name)` (NFKC with case folding) for user accounts,
        // unique, so that `ALICE` or `Ａｌｉｃｅ` cannot be opened beside `alice`. System accounts (mint, escrow:…)
        // keep NULL: their names are made by the code, never typed. A ledger that already holds look-alikes still
        // opens: within each group the first account given its key here keeps it (plain ASCII names first, then the
        // others by id), the rest keep NULL and keep working under their exact names; no new name can join a group.
        migrator.registerMigration("ledger.v4-name-key") { database in
            try database.execute(sql: """
                ALTER TABLE account ADD COLUMN name_key TEXT;
                CREATE UNIQUE INDEX account_by_name_key ON account (name_key);
                UPDATE OR IGNORE account SET name_key = lower(name) WHERE kind = 'user' AND name NOT GLOB '*[^ -~]*';
                """)
            let others = try Row.fetchAll(database, sql: """
                SELECT id, name FROM account WHERE kind = 'user' AND name_key IS NULL ORDER BY id
                """)
            for row in others {
                let name: String = row["name"]
                try database.execute(sql: "UPDATE OR IGNORE account SET name_key = ? WHERE id = ?",
                                     arguments: [TextRules.lookalikeKey(name), row["id"] as Int64])
            }
        }
        // Voided transfer ids: a send that failed half way is settled by asking the ledger whether its payment
        // landed, and in the same write voiding the id when it did not (`AccountStore.settleTransfers`). A payment
        // with a voided id is refused however late it comes (a retry in another process, a call that gave up and
        // was sent again), so a packet cancelled for want of its payment can never be paid afterwards.
        migrator.registerMigration("ledger.v5-voided") { database in
            try database.execute(sql: """
                CREATE TABLE voided_transfer (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID
                """)
        }
        // Bills by chain instead of by index. `transfer_by_debit` and `transfer_by_credit` put an entry for each
        // transfer under each of its two accounts: at a million accounts the credited account's entry lands on a
        // random leaf of a 4,400-page index, a page read (often from outside the writer's cache) and one more page
        // dirtied, written to the WAL and checkpointed, per transfer. The chain keeps the same order in columns of
        // rows a transfer writes anyway: its own new row and the two account rows it already updates. The history
        // is linked here from the old indexes before they go (about 3 s of CPU per million transfers, once).
        migrator.registerMigration("ledger.v6-account-chain") { database in
            try database.execute(sql: """
                ALTER TABLE account ADD COLUMN last_seq INTEGER;
                ALTER TABLE transfer ADD COLUMN debit_prev_seq INTEGER;
                ALTER TABLE transfer ADD COLUMN credit_prev_seq INTEGER;
                UPDATE transfer SET
                    debit_prev_seq = NULLIF(max(
                        COALESCE((SELECT MAX(p.seq) FROM transfer p WHERE p.debit_id = transfer.debit_id AND p.seq < transfer.seq), 0),
                        COALESCE((SELECT MAX(p.seq) FROM transfer p WHERE p.credit_id = transfer.debit_id AND p.seq < transfer.seq), 0)), 0),
                    credit_prev_seq = NULLIF(max(
                        COALESCE((SELECT MAX(p.seq) FROM transfer p WHERE p.debit_id = transfer.credit_id AND p.seq < transfer.seq), 0),
                        COALESCE((SELECT MAX(p.seq) FROM transfer p WHERE p.credit_id = transfer.credit_id AND p.seq < transfer.seq), 0)), 0);
                UPDATE account SET last_seq = NULLIF(max(
                    COALESCE((SELECT MAX(seq) FROM transfer WHERE debit_id = account.id), 0),
                    COALESCE((SELECT MAX(seq) FROM transfer WHERE credit_id = account.id), 0)), 0);
                DROP INDEX transfer_by_debit;
                DROP INDEX transfer_by_credit;
                """)
        }
    }

    /// Whether the ledger's transfers are chained (`ledger.v6-account-chain`): a ledger opened read-only is read
    /// as it is, and one from before the chain still has the per-account indexes instead.
    static func hasAccountChains(_ database: Database) throws -> Bool {
        try database.columns(in: "transfer").contains { $0.name == "debit_prev_seq" }
    }
}
