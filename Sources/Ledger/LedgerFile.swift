import Foundation
import GRDB

/// Recognises files that are not Hongbao ledgers before anything is written to them, and turns SQLite's
/// storage errors into `LedgerError`.
enum LedgerFile {
    /// The 16-byte header every SQLite 3 database starts with.
    private static let sqliteHeader = Array("SQLite format 3\0".utf8)

    /// Refuses a file that is not a SQLite database at all, before SQLite touches it.
    /// `readOnly`: look through a read-only connection (the caller opens the ledger read-only too).
    static func checkIsSQLite(path: String, readOnly: Bool = false) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return } // absent: will be created
        defer { try? handle.close() }
        let header = [UInt8]((try? handle.read(upToCount: 16)) ?? Data())
        if header.isEmpty { return }
        guard header == sqliteHeader else { throw LedgerError.foreignDatabase(path: path) }
        // A SQLite database: look before the pool switches it to WAL (which would modify a foreign file).
        // A plain connection reads through a write-ahead log left by a crash, so a Hongbao ledger whose header
        // page was never checkpointed is still recognised.
        var configuration = Configuration()
        configuration.readonly = readOnly
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        try queue.read { database in
            let applicationID = try Int32.fetchOne(database, sql: "PRAGMA application_id") ?? 0
            let objectCount = try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM sqlite_master") ?? 0
            if applicationID != LedgerSchema.applicationID && (applicationID != 0 || objectCount > 0) {
                throw LedgerError.foreignDatabase(path: path)
            }
        }
    }

    /// Claims a new database for Hongbao, accepts one already claimed, and refuses a SQLite database that
    /// belongs to someone else. Reads through SQLite, so a header still in the WAL is seen.
    static func claimOrVerify(_ database: Database, path: String) throws {
        let applicationID = try Int32.fetchOne(database, sql: "PRAGMA application_id") ?? 0
        if applicationID == LedgerSchema.applicationID { return }
        let objectCount = try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM sqlite_master") ?? 0
        guard applicationID == 0 && objectCount == 0 else { throw LedgerError.foreignDatabase(path: path) }
        try database.execute(sql: "PRAGMA application_id = \(LedgerSchema.applicationID)")
    }

    static func classify(_ error: any Error, path: String) -> LedgerError {
        guard let error = error as? DatabaseError else {
            if let error = error as? LedgerError { return error }
            return .storage("\(error)")
        }
        switch error.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return .corruptDatabase(path: path, reason: error.message ?? "damaged")
        default:
            return .storage("\(path): \(error.message ?? "\(error.resultCode)")")
        }
    }
}
