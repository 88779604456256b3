import Foundation
import GRDB

/// Recognises files that are not Hongbao ledgers before anything is written to them, and turns SQLite's
/// storage errors into `LedgerError`.
enum LedgerFile {
    /// The 16-byte header every SQLite 3 database starts with.
    private static let sqliteHeader = Array("SQLite format 3\0".utf8)

    /// Refuses a file that is not SQLite, or a SQLite database that belongs to someone else.
    static func checkIsOurs(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return } // absent: will be created
        defer { try? handle.close() }
        let header = [UInt8]((try? handle.read(upToCount: 100)) ?? Data())
        if header.isEmpty { return }
        guard header.count >= 100, Array(header.prefix(16)) == sqliteHeader else {
            throw LedgerError.foreignDatabase(path: path)
        }
        let applicationID = Int32(bitPattern: UInt32(header[68]) << 24 | UInt32(header[69]) << 16
            | UInt32(header[70]) << 8 | UInt32(header[71]))
        guard applicationID == LedgerSchema.applicationID else {
            // In WAL mode the page that carries the application id may so far exist only in the write-ahead log:
            // the file was never checkpointed (a crash, or another connection still open). Ask SQLite, which
            // reads through the log.
            if FileManager.default.fileExists(atPath: path + "-wal"),
               (try? applicationIDThroughLog(path: path)) == LedgerSchema.applicationID {
                return
            }
            throw LedgerError.foreignDatabase(path: path)
        }
    }

    /// The application id as SQLite sees it, write-ahead log included. Only reads.
    private static func applicationIDThroughLog(path: String) throws -> Int32? {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { try Int32.fetchOne($0, sql: "PRAGMA application_id") }
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
