import GRDB

/// Red-packet tables, in the ledger's database so that "debit the sender into escrow + create the packet"
/// and "draw a share + record the claim" are each one local transaction.
public enum PacketSchema {
    /// Registers the red-packet migrations; pass to `Ledger(migrations:)`.
    public static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("redpackets.v1") { database in
            try database.execute(sql: """
                CREATE TABLE packet (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('personal', 'lucky', 'equal')),
                    sender_id INTEGER NOT NULL REFERENCES account (id),
                    recipient_id INTEGER REFERENCES account (id),
                    escrow_id INTEGER NOT NULL UNIQUE REFERENCES account (id),
                    total INTEGER NOT NULL CHECK (total > 0),
                    shares INTEGER NOT NULL CHECK (shares > 0),
                    greeting TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    grabbed INTEGER NOT NULL DEFAULT 0 CHECK (grabbed <= shares),
                    opened INTEGER NOT NULL DEFAULT 0 CHECK (opened <= grabbed),
                    opened_amount INTEGER NOT NULL DEFAULT 0 CHECK (opened_amount <= total),
                    refunded INTEGER NOT NULL DEFAULT 0,
                    state TEXT NOT NULL CHECK (state IN ('open', 'finished', 'expired'))
                );
                CREATE INDEX packet_by_sender ON packet (sender_id, created_at);
                CREATE INDEX packet_open_by_expiry ON packet (expires_at) WHERE state = 'open';
                CREATE TABLE grab (
                    packet_id TEXT NOT NULL REFERENCES packet (id),
                    user_id INTEGER NOT NULL REFERENCES account (id),
                    slot INTEGER NOT NULL,
                    grabbed_at INTEGER NOT NULL,
                    PRIMARY KEY (packet_id, user_id)
                ) WITHOUT ROWID;
                CREATE TABLE claim (
                    id TEXT PRIMARY KEY,
                    packet_id TEXT NOT NULL REFERENCES packet (id),
                    user_id INTEGER NOT NULL REFERENCES account (id),
                    slot INTEGER NOT NULL,
                    amount INTEGER NOT NULL CHECK (amount > 0),
                    state TEXT NOT NULL CHECK (state IN ('crediting', 'waiting', 'credited')),
                    opened_at INTEGER NOT NULL,
                    credited_at INTEGER,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    UNIQUE (packet_id, user_id)
                );
                CREATE INDEX claim_by_user ON claim (user_id, opened_at);
                CREATE INDEX claim_uncredited ON claim (state) WHERE state <> 'credited';
                """)
        }
    }
}
