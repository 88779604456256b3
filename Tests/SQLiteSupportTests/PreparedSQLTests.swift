import GRDB
import SQLiteSupport
import TestKit
import XCTest

/// The hot-path statement layer: typed bindings and column reads, and errors that leave nothing behind.
final class PreparedSQLTests: XCTestCase {
    var directory: TemporaryDirectory!
    var database: DatabaseQueue!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "hongbao-prepared-test")
        database = try DatabaseQueue(path: directory.appending("t.sqlite"))
        try database.write { try $0.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER)") }
    }

    override func tearDown() {
        database = nil
        directory?.remove()
    }

    func testValuesRoundTripThroughBindingsAndColumns() throws {
        let names = ["ascii", "红包 新年快乐", "e\u{301}", "", "with\u{0}nul", String(repeating: "长", count: 5_000)]
        try database.write { db in
            for (index, name) in names.enumerated() {
                let n: Int64? = index.isMultiple(of: 2) ? Int64.min + Int64(index) : nil
                XCTAssertEqual(try db.execute(prepared: "INSERT INTO t (id, name, n) VALUES (?, ?, ?)", index, name, n), 1)
            }
        }
        let rows = try database.read { db in
            try db.fetchAll(prepared: "SELECT id, name, n FROM t WHERE id >= ? ORDER BY id", 0) { row in
                (row.int(0), row.text(1), row.optionalInt64(2), row.isNull(2))
            }
        }
        XCTAssertEqual(rows.map(\.1), names)
        XCTAssertEqual(rows.map(\.0), Array(names.indices))
        for row in rows {
            XCTAssertEqual(row.2, row.0.isMultiple(of: 2) ? Int64.min + Int64(row.0) : nil)
            XCTAssertEqual(row.3, !row.0.isMultiple(of: 2))
        }
        let missing = try database.read { db in try db.fetchFirst(prepared: "SELECT n FROM t WHERE name = ?", "nobody") { $0.int64(0) } }
        XCTAssertNil(missing)
    }

    /// A constraint failure throws GRDB's error with SQLite's code and message, and the cached statement
    /// works again afterwards (it is reset, not left mid-step).
    func testAFailedStatementThrowsAndCanBeReused() throws {
        try database.write { db in
            try db.execute(prepared: "INSERT INTO t (name) VALUES (?)", "a")
            XCTAssertThrowsError(try db.execute(prepared: "INSERT INTO t (name) VALUES (?)", "a")) { error in
                let error = error as? DatabaseError
                XCTAssertEqual(error?.extendedResultCode, .SQLITE_CONSTRAINT_UNIQUE)
                XCTAssertTrue(error?.message?.contains("UNIQUE") ?? false, "\(String(describing: error))")
            }
            try db.execute(prepared: "INSERT INTO t (name) VALUES (?)", "b")
        }
        XCTAssertEqual(try database.read { try String.fetchAll($0, sql: "SELECT name FROM t ORDER BY name") }, ["a", "b"])
    }

    func testTheWrongNumberOfArgumentsIsAnErrorNotAGuess() throws {
        try database.write { db in
            XCTAssertThrowsError(try db.execute(prepared: "INSERT INTO t (name, n) VALUES (?, ?)", "only one"))
            XCTAssertThrowsError(try db.execute(prepared: "INSERT INTO t (name) VALUES (?)", "one", 2))
        }
        XCTAssertEqual(try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") }, 0)
    }

    func testExecuteReportsTheRowsItChanged() throws {
        try database.write { db in
            for name in ["a", "b", "c"] { try db.execute(prepared: "INSERT INTO t (name, n) VALUES (?, 1)", name) }
            XCTAssertEqual(try db.execute(prepared: "UPDATE t SET n = n + 1 WHERE n = ?", 1), 3)
            XCTAssertEqual(try db.execute(prepared: "UPDATE t SET n = 0 WHERE name = ?", "nobody"), 0)
        }
    }
}

final class PreparedSQLSharingTests: XCTestCase {
    /// GRDB and this layer share GRDB's statement cache, and GRDB leaves a statement it ran un-reset.
    func testAStatementGRDBRanLastCanBeBoundAgain() throws {
        let directory = try TemporaryDirectory(prefix: "hongbao-prepared-test")
        defer { directory.remove() }
        let database = try DatabaseQueue(path: directory.appending("t.sqlite"))
        try database.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
            for id in 1...3 { try db.execute(prepared: "INSERT INTO t (id, name) VALUES (?, ?)", id, "n\(id)") }
            let sql = "DELETE FROM t WHERE id = ?"
            try db.cachedStatement(sql: sql).execute(arguments: [1])
            XCTAssertEqual(try db.execute(prepared: sql, 2), 1)
            try db.cachedStatement(sql: sql).execute(arguments: [3])
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t"), 0)
            let select = "SELECT name FROM t WHERE id >= ?"
            try db.execute(prepared: "INSERT INTO t (id, name) VALUES (?, ?)", 4, "n4")
            _ = try Row.fetchCursor(db.cachedStatement(sql: select), arguments: [0]).next()
            XCTAssertEqual(try db.fetchFirst(prepared: select, 0) { $0.text(0) }, "n4")
        }
    }
}
