import PostgresStores
import XCTest

/// The `--postgres` URL: one server, or a list of a cluster's servers as libpq writes it; a bad one is one line
/// that never shows the password.
final class PostgresSettingsTests: XCTestCase {
    func testAURLMayNameSeveralServersEachWithItsOwnPort() throws {
        let settings = try PostgresSettings(url: "postgresql://u:p%40ss@10.0.0.1:5433,db2,[::1]:6000/books")
        XCTAssertEqual(settings.servers, [.init(host: "10.0.0.1", port: 5433), .init(host: "db2", port: 5432),
                                          .init(host: "::1", port: 6000)])
        XCTAssertEqual(settings.server, .init(host: "10.0.0.1", port: 5433), "the first server until one is asked")
        XCTAssertEqual(settings.user, "u")
        XCTAssertEqual(settings.password, "p@ss")
        XCTAssertEqual(settings.database, "books")
        XCTAssertEqual(settings.on(settings.servers[2]).redacted, "postgres://u@[::1]:6000/books")
        XCTAssertEqual(try PostgresSettings(url: "postgres://u@h/db").servers, [.init(host: "h", port: 5432)])
    }

    func testABadListIsOneLineNamingWhatIsWrongAndNeverThePassword() {
        let refusals = [
            ("postgres://u:secret@a,,b/db", "its list of servers has an empty entry"),
            ("postgres://u:secret@a:1,a:1/db", "it names the server a:1 twice"),
            ("postgres://u:secret@a:1,b:99999/db", "the port is out of range"),
            ("postgres://u:secret@h:99999999999999999999/db", "the port is out of range"),
            ("postgres://u:secret@" + (1...17).map { "h\($0)" }.joined(separator: ",") + "/db",
             "it names 17 servers; at most 16"),
            ("postgres://a,b/db", "it names no user"),
            ("mysql://u:secret@a/db", "it must start with postgres://"),
        ]
        for (url, reason) in refusals {
            XCTAssertThrowsError(try PostgresSettings(url: url), url) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("not a PostgreSQL URL (\(reason)): "), text)
                XCTAssertFalse(text.contains("secret"), text)
                XCTAssertEqual(text.split(whereSeparator: \.isNewline).count, 1, text)
            }
        }
        XCTAssertThrowsError(try PostgresSettings(url: "postgres://u:secret@h:0/db")) { error in
            XCTAssertEqual("\(error)", "not a PostgreSQL URL (the port is out of range): postgres://u:***@h:0/db")
        }
    }

    /// No server of the list answers: the error says what each one said (here: nothing listens on its port).
    func testWhenNoServerOfTheListTakesWritesTheErrorSaysWhatEachSaid() async throws {
        let settings = try PostgresSettings(url: "postgres://u@127.0.0.1:1,127.0.0.1:2/db")
        do {
            _ = try await PostgresPool.primary(of: settings)
            XCTFail("a server was found")
        } catch {
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("PostgreSQL unavailable: none of the 2 servers takes writes (127.0.0.1:1: "), text)
            XCTAssertTrue(text.contains("; 127.0.0.1:2: "), text)
        }
        let one = try PostgresSettings(url: "postgres://u@127.0.0.1:1/db")
        let unasked = try await PostgresPool.primary(of: one)
        XCTAssertEqual(unasked, one, "a URL that names one server is not asked")
    }

    /// The header's durability on PostgreSQL: how many servers' disks an acknowledged commit is on.
    func testTheDurabilityLabelSaysHowManyServersHoldAnAcknowledgedCommit() {
        let cases: [(String, String, String)] = [
            ("on", "ANY 1 (b, c)", "2 SERVERS"), ("on", "FIRST 2 (b, c, d)", "3 SERVERS"), ("remote_apply", "2 (b, c)", "3 SERVERS"),
            ("on", "b, c", "2 SERVERS"), ("on", "*", "2 SERVERS"), ("on", "", "1 SERVER"), ("local", "ANY 1 (b, c)", "1 SERVER"),
            ("off", "ANY 1 (b, c)", "ASYNC"), ("remote_write", "ANY 1 (b, c)", "1 SERVER + 1 WRITTEN"),
        ]
        for (commit, names, label) in cases {
            XCTAssertEqual(PostgresPool.durabilityLabel(synchronousCommit: commit, standbyNames: names), label, "\(commit) \(names)")
        }
    }
}
