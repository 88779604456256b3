import GRDB
import SQLiteSupport
import TestKit
import XCTest

/// SQLite's process-wide settings. Whether they took depends on whether this test process opened a connection
/// before (tests share processes), so this checks that what is reported is what SQLite does; the binary, which
/// applies them first thing, is checked by `BenchSmokeTests` (its report's `sqlite` line).
final class SQLiteProcessSettingsTests: XCTestCase {
    func testTheReportedSettingIsWhatSQLiteDoes() throws {
        let applied = SQLiteProcessSettings.apply()
        let directory = try TemporaryDirectory(prefix: "hongbao-sqlite-settings-test")
        defer { directory.remove() }
        let database = try DatabaseQueue(path: directory.appending("t.sqlite"))
        try database.write { try $0.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'x')") }
        XCTAssertEqual(SQLiteProcessSettings.countsMemory, !applied)
        XCTAssertTrue(SQLiteProcessSettings.summary.hasPrefix("SQLite 3."), SQLiteProcessSettings.summary)
        XCTAssertTrue(SQLiteProcessSettings.summary.hasSuffix(applied ? "memory statistics off" : "memory statistics on"))
        // Asking again changes nothing: SQLite is initialized now, and the first answer stands.
        XCTAssertEqual(SQLiteProcessSettings.apply(), applied)
    }
}
