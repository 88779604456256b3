import Foundation
import GRDB

/// Why a store's database file cannot be used. Each store turns these into its own errors.
public enum SQLiteStoreError: Error, Equatable, Sendable {
    /// The file is damaged.
    case corruptDatabase(path: String, reason: String)
    /// The file is a SQLite database (or something else) that does not belong to this store.
    case foreignDatabase(path: String)
    /// Opened for reading, but there is no database there yet.
    case missingDatabase(path: String)
    /// The database could not be opened or written (permissions, disk full).
    case storage(String)
}

/// Recognises files that are not the store's before anything is written to them (by the SQLite application
/// id each store claims), and turns SQLite's storage errors into `SQLiteStoreError`.
enum SQLiteFile {
    /// The 16-byte header every SQLite 3 database starts with.
    private static let sqliteHeader = Array("SQLite format 3\0".utf8)

    /// Refuses a file that is not a SQLite database at all, before SQLite touches it, or one claimed by
    /// another application id.
    /// `readOnly`: look through a read-only connection (the caller opens the database read-only too).
    static func checkIsSQLite(path: String, applicationID: Int32, readOnly: Bool = false) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return } // absent: will be created
        defer { try? handle.close() }
        let header = [UInt8]((try? handle.read(upToCount: 16)) ?? Data())
        if header.isEmpty { return }
        guard header == sqliteHeader else { throw SQLiteStoreError.foreignDatabase(path: path) }
        // A SQLite database: look before the pool switches it to WAL (which would modify a foreign file).
        // A plain connection reads through a write-ahead log left by a crash, so a store whose header page
        // was never checkpointed is still recognised.
        var configuration = Configuration()
        configuration.readonly = readOnly
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        try queue.read { database in
            let found = try Int32.fetchOne(database, sql: "PRAGMA application_id") ?? 0
            let objectCount = try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM sqlite_master") ?? 0
            if found != applicationID && (found != 0 || objectCount > 0) {
                throw SQLiteStoreError.foreignDatabase(path: path)
            }
        }
    }

    /// Claims a new database for the store, accepts one already claimed, and refuses a SQLite database that
    /// belongs to someone else. Reads through SQLite, so a header still in the WAL is seen.
    static func claimOrVerify(_ database: Database, path: String, applicationID: Int32) throws {
        let found = try Int32.fetchOne(database, sql: "PRAGMA application_id") ?? 0
        if found == applicationID { return }
        let objectCount = try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM sqlite_master") ?? 0
        guard found == 0 && objectCount == 0 else { throw SQLiteStoreError.foreignDatabase(path: path) }
        try database.execute(sql: "PRAGMA application_id = \(applicationID)")
    }

    static func classify(_ error: any Error, path: String) -> any Error {
        guard let error = error as? DatabaseError else { return error }
        switch error.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return SQLiteStoreError.corruptDatabase(path: path, reason: error.message ?? "damaged")
        default:
            return SQLiteStoreError.storage("\(path): \(error.message ?? "\(error.resultCode)")")
        }
    }
}
