import Foundation
import GRDB
import Primitives
import SQLiteSupport
import Synchronization

/// One replica's SQLite database: the queue's tables, its last applied sequence and a log of recent
/// operations (for catching up other replicas). `Replica` confines writes to one serial queue.
final class ReplicaStore: Sendable {
    let path: String
    let database: DatabaseQueue
    private let operationLogLimit: Int
    /// Operations between checkpoints of the write-ahead log, and where in that period this replica
    /// checkpoints: replicas checkpoint at different moments, so that at most one of a quorum pays for it.
    private let checkpointPeriod: Int64
    private let checkpointOffset: Int64
    /// The last applied sequence as the last commit left it (nil: read it from the file first). Only `write`
    /// uses it, on the replica's queue; a copy into this database (`copy(to:)`) forgets it.
    private let knownLast = Mutex<Int64?>(nil)

    static let header = Array("SQLite format 3\0".utf8)

    /// Opens (or creates) the database at `path`. Throws `ReplicaOpenFailure` telling corruption (rebuild it)
    /// from garbage (someone else's file: refuse). `readOnly` opens an existing replica for reading only
    /// (audits, reading commands): no migration, nothing written.
    init(
        path: String, operationLogLimit: Int, checkpointPeriod: Int = 4096, checkpointPhase: Int = 0,
        durability: ReplicaDurability = .full, readOnly: Bool = false
    ) throws(ReplicaOpenFailure) {
        SQLiteProcessSettings.apply()
        self.path = path
        self.operationLogLimit = operationLogLimit
        self.checkpointPeriod = Int64(max(1, checkpointPeriod))
        self.checkpointOffset = Int64(checkpointPhase) * Int64(max(1, checkpointPeriod)) / 3
        if let handle = FileHandle(forReadingAtPath: path) {
            let prefix = (try? handle.read(upToCount: 16)).map { Array($0) } ?? []
            try? handle.close()
            if !prefix.isEmpty, prefix != ReplicaStore.header {
                throw .garbage("not an SQLite database")
            }
        }
        var configuration = Configuration()
        if readOnly {
            guard FileManager.default.fileExists(atPath: path) else { throw .corrupted("the file is missing") }
            configuration.readonly = true
        } else {
            configuration.journalMode = .wal
        }
        configuration.prepareDatabase { db in
            if readOnly { return }
            // Checkpoints are run by `apply`, staggered across replicas (see `checkpointPeriod`).
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        }
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            if !readOnly {
                // Set here, not in `prepareDatabase`: GRDB sets synchronous=NORMAL when it turns WAL on, after
                // `prepareDatabase` ran, so a FULL set there left every replica commit unsynced.
                try database.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA synchronous = \(durability.pragma)")
                }
            }
            let result = try database.read { db in try String.fetchOne(db, sql: "PRAGMA quick_check") }
            guard result == "ok" else { throw ReplicaOpenFailure.corrupted(result ?? "quick_check failed") }
            if readOnly {
                let tables = try database.read { db in
                    try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                }
                guard tables.contains("replica_meta") else {
                    throw ReplicaOpenFailure.garbage(tables.isEmpty ? "empty" : "holds tables of another program")
                }
            } else {
                try database.write { db in try ReplicaStore.migrate(db) }
            }
        } catch let failure as ReplicaOpenFailure {
            throw failure
        } catch {
            throw .corrupted("\(error)")
        }
    }

    /// Format 1: queues, messages, the operation log. Format 2 adds half messages. Format 3 adds the
    /// attributes of messages (and of operations that carry them). Format 4 keeps the random part of each
    /// message's current receipt. Format 5 keeps deleted messages for rewinding (`consumed_ms` set). Format 6
    /// no longer writes `last_sequence` on every commit: the last applied sequence is the larger of it and the
    /// operation log's last (`lastSequenceSQL`), which every commit writes anyway; `last_sequence` is brought up
    /// to date when the log is trimmed, so it always covers what the log no longer holds.
    static let format = 6

    /// The last applied sequence: every applied operation is in the log (in the same transaction), and
    /// `last_sequence` holds at least the last one trimmed from it.
    static let lastSequenceSQL = """
        SELECT max(ifnull((SELECT value FROM replica_meta WHERE key = 'last_sequence'), 0),
                   ifnull((SELECT max(seq) FROM oplog), 0))
        """

    private static func migrate(_ db: Database) throws {
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        if tables.contains("replica_meta") {
            if !tables.contains("half_message") {
                if try !db.columns(in: "queue").contains(where: { $0.name == "check_backs" }) {
                    try db.execute(sql: "ALTER TABLE queue ADD COLUMN check_backs INTEGER NOT NULL DEFAULT 0")
                }
                try createHalfMessageTable(db)
            }
            // Format 4: each message keeps the random part of its current receipt. Replicas written before have
            // none: their in-flight messages are redelivered after their visibility timeout, with a full receipt.
            if try !db.columns(in: "message").contains(where: { $0.name == "receipt" }) {
                try db.execute(sql: "ALTER TABLE message ADD COLUMN receipt TEXT NOT NULL DEFAULT ''")
            }
            if try !db.columns(in: "message").contains(where: { $0.name == "attrs" }) {
                try db.execute(sql: """
                    ALTER TABLE message ADD COLUMN attrs TEXT NOT NULL DEFAULT '';
                    ALTER TABLE message ADD COLUMN first_ms INTEGER;
                    ALTER TABLE oplog ADD COLUMN extra TEXT NOT NULL DEFAULT '';
                    """)
            }
            // Format 5: deleted messages kept for rewinding carry when they were deleted. Older replicas kept
            // none, so every row they hold is a live message, as the column's default says.
            if try !db.columns(in: "message").contains(where: { $0.name == "consumed_ms" }) {
                try db.execute(sql: "ALTER TABLE message ADD COLUMN consumed_ms INTEGER")
            }
            try db.execute(sql: "UPDATE replica_meta SET value = ? WHERE key = 'format'", arguments: [format])
            return
        }
        guard tables.isEmpty else { throw ReplicaOpenFailure.garbage("holds tables of another program") }
        try db.execute(sql: """
            CREATE TABLE replica_meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            INSERT INTO replica_meta VALUES ('format', \(format)), ('last_sequence', 0);
            CREATE TABLE queue(
                name TEXT PRIMARY KEY, attributes TEXT NOT NULL, created_ms INTEGER NOT NULL,
                check_backs INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE message(
                queue TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, sent_ms INTEGER NOT NULL,
                visible_ms INTEGER NOT NULL, receive_count INTEGER NOT NULL, origin TEXT, ord INTEGER NOT NULL,
                attrs TEXT NOT NULL DEFAULT '', first_ms INTEGER, receipt TEXT NOT NULL DEFAULT '',
                consumed_ms INTEGER, PRIMARY KEY (queue, id)) WITHOUT ROWID;
            CREATE TABLE oplog(
                seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL, queue TEXT NOT NULL, message TEXT NOT NULL,
                text TEXT NOT NULL, time_ms INTEGER NOT NULL, visible_ms INTEGER NOT NULL, count INTEGER NOT NULL,
                extra TEXT NOT NULL DEFAULT '');
            """)
        try createHalfMessageTable(db)
    }

    private static func createHalfMessageTable(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE half_message(
                queue TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, prepared_ms INTEGER NOT NULL,
                check_ms INTEGER NOT NULL, check_count INTEGER NOT NULL, delay_ms INTEGER, ord INTEGER NOT NULL,
                PRIMARY KEY (queue, id)) WITHOUT ROWID;
            """)
    }

    func lastSequence() throws -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: ReplicaStore.lastSequenceSQL) ?? 0 }
    }

    /// Applies operations in one transaction (group commit). Operations at or below the last applied
    /// sequence are skipped, so replaying an overlap is harmless.
    func apply(_ operations: [QueueOperation]) throws -> Int64 {
        let (before, last) = try write(operations)
        if (before + checkpointOffset) / checkpointPeriod != (last + checkpointOffset) / checkpointPeriod {
            try withOpenDatabase { db in _ = try db.checkpoint(.passive) }
        }
        return last
    }

    /// One transaction writes the operations' rows and their log entries, and nothing else: no per-commit
    /// bookkeeping row, so a commit writes the pages of what changed (`format` 6).
    private func write(_ operations: [QueueOperation]) throws -> (before: Int64, after: Int64) {
        let known = knownLast.withLock { $0 }
        guard let newest = operations.last?.sequence else {
            let last = try known ?? lastSequence()
            return (last, last)
        }
        if let known, newest <= known { return (known, known) }
        knownLast.withLock { $0 = nil }
        let result = try withOpenDatabase { db in try db.immediateTransaction { () -> ((Int64, Int64), Bool) in
            let before = try known ?? db.fetchFirst(prepared: ReplicaStore.lastSequenceSQL) { $0.int64(0) } ?? 0
            var last = before
            for operation in operations where operation.sequence > last {
                try ReplicaStore.apply(operation, db)
                last = operation.sequence
            }
            let limit = Int64(operationLogLimit)
            // Every 1,024 operations, whether they come one per commit or in groups.
            if before / 1024 != last / 1024, last > limit {
                // The log loses its oldest entries: `last_sequence` takes over what they told.
                try db.execute(prepared: "UPDATE replica_meta SET value = ? WHERE key = 'last_sequence'", last)
                try db.execute(sql: "DELETE FROM oplog WHERE seq <= ?", arguments: [last - limit])
            }
            return ((before, last), true)
        } }
        knownLast.withLock { $0 = result.1 }
        return result
    }

    private static func apply(_ operation: QueueOperation, _ db: Database) throws {
        let o = operation
        try db.execute(prepared: """
            INSERT INTO oplog(seq, kind, queue, message, text, time_ms, visible_ms, count, extra)
            VALUES (?,?,?,?,?,?,?,?,?)
            """, o.sequence, o.kind.rawValue, o.queue, o.messageID, o.text, o.time.millisecondsSinceEpoch,
            o.visibleAt.millisecondsSinceEpoch, o.count, o.extra)
        switch o.kind {
        case .createQueue:
            try db.execute(prepared: "INSERT OR IGNORE INTO queue(name, attributes, created_ms) VALUES (?, ?, ?)", o.queue, o.text,
                           o.time.millisecondsSinceEpoch)
        case .deleteQueue:
            try db.execute(prepared: "DELETE FROM queue WHERE name = ?", o.queue)
            try db.execute(prepared: "DELETE FROM message WHERE queue = ?", o.queue)
            try db.execute(prepared: "DELETE FROM half_message WHERE queue = ?", o.queue)
        case .send:
            try db.execute(prepared: """
                INSERT OR IGNORE INTO message(queue, id, body, sent_ms, visible_ms, receive_count, origin, ord, attrs)
                SELECT ?, ?, ?, ?, ?, 0, NULL, ?, ? WHERE EXISTS (SELECT 1 FROM queue WHERE name = ?)
                """, o.queue, o.messageID, o.text, o.time.millisecondsSinceEpoch, o.visibleAt.millisecondsSinceEpoch,
                o.sequence, o.extra, o.queue)
        case .lease:
            try db.execute(prepared: """
                UPDATE message SET visible_ms = ?, receive_count = ?, receipt = ?,
                first_ms = CASE WHEN ? > 0 AND (? = 1 OR first_ms IS NULL) THEN ? ELSE first_ms END
                WHERE queue = ? AND id = ?
                """, o.visibleAt.millisecondsSinceEpoch, o.count, o.text, o.time.millisecondsSinceEpoch, o.count,
                o.time.millisecondsSinceEpoch, o.queue, o.messageID)
        case .changeVisibility:
            try db.execute(prepared: "UPDATE message SET visible_ms = ? WHERE queue = ? AND id = ?",
                           o.visibleAt.millisecondsSinceEpoch, o.queue, o.messageID)
        case .delete where o.count == 1:
            try db.execute(prepared: """
                UPDATE message SET consumed_ms = ?, receipt = '' WHERE queue = ? AND id = ? AND consumed_ms IS NULL
                """, o.time.millisecondsSinceEpoch, o.queue, o.messageID)
        case .delete:
            try db.execute(prepared: "DELETE FROM message WHERE queue = ? AND id = ? AND consumed_ms IS NULL", o.queue, o.messageID)
        case .purge:
            try db.execute(prepared: "DELETE FROM message WHERE queue = ? AND id = ?", o.queue, o.messageID)
        case .rewind:
            try db.execute(prepared: """
                UPDATE message SET consumed_ms = NULL, visible_ms = ?, receive_count = 0, receipt = '', first_ms = NULL
                WHERE queue = ? AND sent_ms >= ? AND (consumed_ms IS NOT NULL OR receive_count > 0)
                """, o.time.millisecondsSinceEpoch, o.queue, o.visibleAt.millisecondsSinceEpoch)
        case .deadLetter, .redrive:
            let keepCount = o.kind == .deadLetter
            try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO message(
                    queue, id, body, sent_ms, visible_ms, receive_count, origin, ord, attrs, first_ms)
                SELECT ?, id, body, sent_ms, ?, CASE WHEN ? THEN receive_count ELSE 0 END, ?, ?, attrs, first_ms
                FROM message WHERE queue = ? AND id = ? AND EXISTS (SELECT 1 FROM queue WHERE name = ?)
                """).execute(arguments: [
                    o.text, o.visibleAt.millisecondsSinceEpoch, keepCount, keepCount ? o.queue : nil,
                    o.sequence, o.queue, o.messageID, o.text,
                ])
            try db.cachedStatement(sql: "DELETE FROM message WHERE queue = ? AND id = ?")
                .execute(arguments: [o.queue, o.messageID])
        case .sendHalf:
            try db.execute(prepared: """
                INSERT OR IGNORE INTO half_message SELECT ?, ?, ?, ?, ?, 0, ?, ?
                WHERE EXISTS (SELECT 1 FROM queue WHERE name = ?)
                """, o.queue, o.messageID, o.text, o.time.millisecondsSinceEpoch, o.visibleAt.millisecondsSinceEpoch,
                o.count < 0 ? nil : Int64(o.count), o.sequence, o.queue)
        case .commitHalf:
            try db.execute(prepared: """
                INSERT OR IGNORE INTO message(queue, id, body, sent_ms, visible_ms, receive_count, origin, ord)
                SELECT queue, id, body, ?, ?, 0, NULL, ?
                FROM half_message WHERE queue = ? AND id = ?
                """, o.time.millisecondsSinceEpoch, o.visibleAt.millisecondsSinceEpoch, o.sequence, o.queue, o.messageID)
            try db.execute(prepared: "DELETE FROM half_message WHERE queue = ? AND id = ?", o.queue, o.messageID)
        case .setAttributes:
            try db.execute(prepared: "UPDATE queue SET attributes = ? WHERE name = ?", o.text, o.queue)
        case .rollbackHalf:
            try db.execute(prepared: "DELETE FROM half_message WHERE queue = ? AND id = ?", o.queue, o.messageID)
        case .checkBack:
            try db.execute(prepared: """
                UPDATE queue SET check_backs = check_backs + 1
                WHERE name = ? AND EXISTS (SELECT 1 FROM half_message WHERE queue = ? AND id = ?)
                """, o.queue, o.queue, o.messageID)
            try db.execute(prepared: "UPDATE half_message SET check_count = ?, check_ms = ? WHERE queue = ? AND id = ?",
                           o.count, o.visibleAt.millisecondsSinceEpoch, o.queue, o.messageID)
        }
    }

    /// The logged operations after `sequence` (at most `limit`), or nil when the log no longer reaches back.
    func operations(after sequence: Int64, limit: Int) throws -> [QueueOperation]? {
        try read { db in
            let last = try Int64.fetchOne(db, sql: ReplicaStore.lastSequenceSQL) ?? 0
            if last <= sequence { return [] }
            let first = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM oplog") ?? (last + 1)
            guard first <= sequence + 1 else { return nil }
            let rows = try Row.fetchAll(db, sql: """
                SELECT seq, kind, queue, message, text, time_ms, visible_ms, count, extra FROM oplog
                WHERE seq > ? ORDER BY seq LIMIT ?
                """, arguments: [sequence, limit])
            return rows.compactMap(ReplicaStore.operation)
        }
    }

    /// Every operation still in the log, by sequence number (the audit compares replicas' logs).
    func operationLog() throws -> [Int64: QueueOperation] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT seq, kind, queue, message, text, time_ms, visible_ms, count, extra FROM oplog ORDER BY seq
                """)
            var log: [Int64: QueueOperation] = [:]
            for row in rows {
                let sequence: Int64 = row["seq"]
                // An undecodable row is kept as an operation that equals no real one.
                log[sequence] = ReplicaStore.operation(row) ?? QueueOperation(
                    kind: .purge, queue: "", messageID: "undecodable kind \(row["kind"] as Int64? ?? -1)", text: "",
                    time: Timestamp(millisecondsSinceEpoch: 0), visibleAt: Timestamp(millisecondsSinceEpoch: 0), count: -1)
            }
            return log
        }
    }

    private static func operation(_ row: Row) -> QueueOperation? {
        guard let kind = QueueOperation.Kind(rawValue: row["kind"]) else { return nil }
        var operation = QueueOperation(
            kind: kind, queue: row["queue"], messageID: row["message"], text: row["text"],
            time: Timestamp(millisecondsSinceEpoch: row["time_ms"]),
            visibleAt: Timestamp(millisecondsSinceEpoch: row["visible_ms"]), count: row["count"], extra: row["extra"] as String? ?? "")
        operation.sequence = row["seq"]
        return operation
    }

    /// The whole queue state as this replica holds it.
    func loadState(limits: QueueLimits) throws -> QueueState {
        try read { db in
            let last = try Int64.fetchOne(db, sql: ReplicaStore.lastSequenceSQL) ?? 0
            var builder = QueueStateBuilder(limits: limits, lastSequence: last)
            for row in try Row.fetchAll(db, sql: "SELECT name, attributes, created_ms, check_backs FROM queue") {
                builder.addQueue(name: row["name"], attributes: row["attributes"],
                                 createdAt: Timestamp(millisecondsSinceEpoch: row["created_ms"]),
                                 checkBacksMade: row["check_backs"])
            }
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT queue, id, body, sent_ms, visible_ms, receive_count, origin, ord, attrs, first_ms, receipt,
                consumed_ms FROM message ORDER BY ord
                """)
            while let row = try cursor.next() {
                builder.addMessage(
                    queue: row["queue"], id: row["id"], body: row["body"],
                    sentAt: Timestamp(millisecondsSinceEpoch: row["sent_ms"]),
                    visibleAt: Timestamp(millisecondsSinceEpoch: row["visible_ms"]),
                    receiveCount: row["receive_count"], origin: row["origin"], order: row["ord"], stored: row["attrs"],
                    firstReceivedAt: (row["first_ms"] as Int64?).map { Timestamp(millisecondsSinceEpoch: $0) },
                    receiptNonce: row["receipt"],
                    consumedAt: (row["consumed_ms"] as Int64?).map { Timestamp(millisecondsSinceEpoch: $0) })
            }
            let halves = try Row.fetchCursor(db, sql: """
                SELECT queue, id, body, prepared_ms, check_ms, check_count, delay_ms, ord FROM half_message
                """)
            while let row = try halves.next() {
                let delay: Int64? = row["delay_ms"]
                builder.addHalf(queue: row["queue"], HalfMessage(
                    id: row["id"], body: row["body"], preparedAt: Timestamp(millisecondsSinceEpoch: row["prepared_ms"]),
                    checkBackAt: Timestamp(millisecondsSinceEpoch: row["check_ms"]), checkBacks: row["check_count"],
                    delay: delay.map { .milliseconds($0) }, order: row["ord"]))
            }
            return builder.finish()
        }
    }

    /// Runs SQLite's quick check; false (or a thrown error) means the file is damaged.
    func quickCheck() throws -> Bool {
        try read { db in try String.fetchOne(db, sql: "PRAGMA quick_check") } == "ok"
    }

    /// Moves everything out of the write-ahead log into the database file.
    func checkpoint() throws {
        try withOpenDatabase { db in
            _ = try db.checkpoint(.truncate)
        }
    }

    /// Copies this database into `destination` (SQLite's online backup).
    func copy(to destination: ReplicaStore) throws {
        destination.knownLast.withLock { $0 = nil }
        try database.backup(to: destination.database)
    }

    /// Closes the database. Every later call on this store throws `ReplicaStoreClosed`.
    func close() {
        try? database.close()
    }

    /// Runs `body` on the connection, or throws `ReplicaStoreClosed` once `close()` has run. GRDB leaves a
    /// closed connection's handle nil, and some SQLite calls (`sqlite3_get_autocommit`, which GRDB's `read`
    /// makes first) dereference it without a check: a use after close would be a crash, not an error.
    private func withOpenDatabase<T>(_ body: (Database) throws -> T) throws -> T {
        try database.inDatabase { db in
            guard db.sqliteConnection != nil else { throw ReplicaStoreClosed(path: path) }
            return try body(db)
        }
    }

    /// Runs `body` in one read transaction (one snapshot), or throws `ReplicaStoreClosed`.
    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        try withOpenDatabase { db in
            try db.execute(sql: "BEGIN DEFERRED")
            // Nothing was written: ending the transaction either way is the same.
            defer { try? db.execute(sql: "COMMIT") }
            return try body(db)
        }
    }
}

/// A replica's database was used after it was closed (a commit racing the queue's shutdown).
struct ReplicaStoreClosed: Error, CustomStringConvertible {
    let path: String
    var description: String { "the replica database \(path) is closed" }
}

/// Why a replica's database could not be opened.
enum ReplicaOpenFailure: Error {
    /// The file is an SQLite database that fails its checks: rebuild it from a healthy replica.
    case corrupted(String)
    /// The file is not ours: refuse to touch it.
    case garbage(String)
}
