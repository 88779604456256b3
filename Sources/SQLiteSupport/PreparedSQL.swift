import GRDB
import GRDBSQLite

/// A value that binds to a `?` parameter of a prepared statement through the SQLite C API.
public protocol SQLiteBindable {
    /// Binds `self` at the 1-based `index`; returns SQLite's result code.
    func bind(to statement: SQLiteStatement, at index: Int32) -> Int32
}

extension Int64: SQLiteBindable {
    public func bind(to statement: SQLiteStatement, at index: Int32) -> Int32 {
        sqlite3_bind_int64(statement, index, self)
    }
}

extension Int: SQLiteBindable {
    public func bind(to statement: SQLiteStatement, at index: Int32) -> Int32 {
        sqlite3_bind_int64(statement, index, Int64(self))
    }
}

extension String: SQLiteBindable {
    public func bind(to statement: SQLiteStatement, at index: Int32) -> Int32 {
        var copy = self
        return copy.withUTF8 { bytes in
            // SQLITE_TRANSIENT: SQLite copies the bytes before this returns.
            sqlite3_bind_text(statement, index, bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                              Int32(bytes.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
    }
}

extension Optional: SQLiteBindable where Wrapped: SQLiteBindable {
    public func bind(to statement: SQLiteStatement, at index: Int32) -> Int32 {
        switch self {
        case .some(let value): value.bind(to: statement, at: index)
        case .none: sqlite3_bind_null(statement, index)
        }
    }
}

/// The current row of a stepped statement. Valid only inside the closure it is passed to.
public struct SQLiteRow {
    let statement: SQLiteStatement

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }
    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(statement, column)) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }
    public func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    public func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(statement, column) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }
}

/// Hot-path statements: prepared once per connection (GRDB's statement cache) and driven through the SQLite
/// C API with typed bindings and column reads.
///
/// GRDB's `StatementArguments`, `DatabaseValue` and `Row` boxes were 40 % of the ledger writer's time at
/// 16,000 units a second (perf, `simulate --rate 5000`). Use these on paths that run per transfer or per open;
/// GRDB's own API everywhere else. Statements here never begin or end transactions.
extension Database {
    /// Runs an INSERT, UPDATE or DELETE; returns the number of rows it changed.
    @discardableResult
    public func execute<each Argument: SQLiteBindable>(
        prepared sql: String, _ arguments: repeat each Argument
    ) throws -> Int {
        let statement = try bound(sql, repeat each arguments)
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE || code == SQLITE_ROW else { throw failure(code, statement, sql) }
        sqlite3_reset(statement)
        return Int(sqlite3_changes(sqlite3_db_handle(statement)))
    }

    /// The first row of a query mapped by `map`, or nil when there is none.
    public func fetchFirst<T, each Argument: SQLiteBindable>(
        prepared sql: String, _ arguments: repeat each Argument, map: (SQLiteRow) throws -> T
    ) throws -> T? {
        let statement = try bound(sql, repeat each arguments)
        defer { sqlite3_reset(statement) }
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return try map(SQLiteRow(statement: statement))
        case SQLITE_DONE: return nil
        case let code: throw failure(code, statement, sql)
        }
    }

    /// Every row of a query mapped by `map`.
    public func fetchAll<T, each Argument: SQLiteBindable>(
        prepared sql: String, _ arguments: repeat each Argument, map: (SQLiteRow) throws -> T
    ) throws -> [T] {
        let statement = try bound(sql, repeat each arguments)
        defer { sqlite3_reset(statement) }
        var rows: [T] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW: rows.append(try map(SQLiteRow(statement: statement)))
            case SQLITE_DONE: return rows
            case let code: throw failure(code, statement, sql)
            }
        }
    }

    private func bound<each Argument: SQLiteBindable>(
        _ sql: String, _ arguments: repeat each Argument
    ) throws -> SQLiteStatement {
        let statement = try cachedStatement(sql: sql).sqliteStatement
        // GRDB resets a statement before it runs it, not after: one it ran last may still be stepped, and
        // binding to a stepped statement is SQLITE_MISUSE.
        sqlite3_reset(statement)
        var index: Int32 = 0
        for argument in repeat each arguments {
            index += 1
            let code = argument.bind(to: statement, at: index)
            guard code == SQLITE_OK else { throw failure(code, statement, sql) }
        }
        guard index == sqlite3_bind_parameter_count(statement) else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "\(index) arguments for \(sqlite3_bind_parameter_count(statement)) parameters", sql: sql)
        }
        return statement
    }

    private func failure(_ code: Int32, _ statement: SQLiteStatement, _ sql: String) -> DatabaseError {
        let message = String(cString: sqlite3_errmsg(sqlite3_db_handle(statement)))
        sqlite3_reset(statement)
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
    }
}

extension Database {
    /// Runs `body` in a `BEGIN IMMEDIATE` transaction whose BEGIN, COMMIT and ROLLBACK are cached statements:
    /// GRDB's `inTransaction` prepares them anew each time, which showed in profiles of the hot path (every
    /// group commit and every replica write pays it). `body` returns its value and whether to commit; when it
    /// throws, or the commit fails, the transaction is rolled back (if SQLite has not already) and the error
    /// rethrown.
    public func immediateTransaction<T>(_ body: () throws -> (value: T, commit: Bool)) throws -> T {
        try cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        do {
            let (value, commit) = try body()
            if commit {
                try cachedStatement(sql: "COMMIT TRANSACTION").execute()
            } else if isInsideTransaction {
                try cachedStatement(sql: "ROLLBACK TRANSACTION").execute()
            }
            return value
        } catch {
            if isInsideTransaction { try? cachedStatement(sql: "ROLLBACK TRANSACTION").execute() }
            throw error
        }
    }
}
