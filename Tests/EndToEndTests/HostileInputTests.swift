import Foundation
import GRDB
import Primitives
import Synchronization
import XCTest

/// Hostile input through the real binary, table-driven. Every case must get one line on stderr that starts with
/// `hongbao: ` and holds no control, bidirectional or invisible format character, print nothing on stdout, exit
/// with its documented status (README, "Exit codes"; never a signal), and leave every SQLite file of the data
/// directory (ledger, queue replicas) with exactly the rows it had.
///
/// One seeded data directory is built once; each case runs on a fresh copy of it, so the table stays fast.
final class HostileInputTests: XCTestCase {
    /// The exit statuses of the README's scheme.
    enum Status: Int32 {
        case usage = 2, notFound = 3, refused = 4, unavailable = 5
    }

    struct Case {
        let arguments: [String]
        let status: Status
        /// A fragment the error must contain (after sanitizing: `\e`, `\u{202E}`).
        let mentions: String
        /// Environment additions; `--data COPY --durability normal` is appended unless `ownData`.
        var environment: [String: String] = [:]
        var ownData = false
        /// What the case belongs to, for the report.
        let kind: String
    }

    /// What the seeded directory holds that the cases refer to.
    struct Seed {
        let directory: String
        let packet: String
        let receipt: String
        let staleReceipt: String
    }

    private static let seeded = Mutex<Seed?>(nil)
    private var binary: HongbaoBinary!

    override func setUpWithError() throws {
        binary = try HongbaoBinary()
    }

    private func seed() throws -> Seed {
        if let seed = HostileInputTests.seeded.withLock({ $0 }) { return seed }
        let directory = ScratchRoot.path() + "/hongbao-hostile-seed-\(UUID().uuidString.prefix(8))"
        func run(_ arguments: [String]) throws -> String {
            let result = try binary.run(arguments + ["--data", directory, "--durability", "normal"])
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        _ = try run(["account", "open", "alice", "--deposit", "1000"])
        _ = try run(["account", "open", "bob"])
        _ = try run(["account", "open", "张三", "--deposit", "10"])
        let packet = try run(["send", "alice", "10", "--shares", "3"])
        // The engine creates its credit queues on its first start: let that happen here, not in a case.
        _ = try run(["packet", "show", packet])
        _ = try run(["queue", "create", "st"])
        _ = try run(["queue", "create", "other"])
        _ = try run(["queue", "send", "st", "first", "--id", "m1"])
        _ = try run(["queue", "send", "st", "second", "--id", "m2"])
        let receipt = try run(["queue", "receive", "st", "--visibility", "43200"]).split(separator: "\t")[0]
        let stale = try run(["queue", "receive", "st", "--visibility", "1"]).split(separator: "\t")[0]
        Thread.sleep(forTimeInterval: 1.1)
        let current = try run(["queue", "receive", "st", "--visibility", "43200"]).split(separator: "\t")[0]
        XCTAssertNotEqual(stale, current, "the second delivery has a new receipt")
        let seed = Seed(directory: directory, packet: packet, receipt: String(receipt), staleReceipt: String(stale))
        HostileInputTests.seeded.withLock { $0 = seed }
        return seed
    }

    override class func tearDown() {
        if let seed = seeded.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: seed.directory) }
        super.tearDown()
    }

    func cases(_ seed: Seed) -> [Case] {
        let receiptParts = seed.receipt.split(separator: ":", maxSplits: 2).map(String.init)
        let (nonce, messageID) = (receiptParts[1], receiptParts[2])
        let long = String(repeating: "长", count: 10_000)
        var table: [Case] = []
        func add(_ kind: String, _ status: Status, _ mentions: String, _ arguments: String...) {
            table.append(Case(arguments: arguments, status: status, mentions: mentions, kind: kind))
        }
        // Numbers: NaN, infinities, huge, negative, out of range, wrong grammar; each names its option and range.
        add("number", .usage, "--visibility must be a number of seconds from 1 to 43,200 s", "queue", "create", "q", "--visibility", "nan")
        add("number", .usage, "--visibility must be", "queue", "create", "q", "--visibility", "inf")
        add("number", .usage, "--visibility must be", "queue", "create", "q", "--visibility", "1e400")
        add("number", .usage, "--visibility must be", "queue", "create", "q", "--visibility", "-1")
        add("number", .usage, "--visibility must be", "queue", "create", "q", "--visibility", "0")
        add("number", .usage, "--delay must be a number of seconds from 0 to 3,600 s", "queue", "create", "q", "--delay", "nan")
        add("number", .usage, "--retention must be a number of seconds from 60 to 1,296,000 s", "queue", "create", "q", "--retention", "inf")
        add("number", .usage, "--max-size must be a whole number from 1,024 to 65,536 bytes", "queue", "create", "q", "--max-size", "99999999999999999999999")
        add("number", .usage, "--max-receive-count must be a whole number from 1 to 1,000", "queue", "create", "q", "--max-receive-count", "0")
        add("number", .usage, "--wait must be a number of seconds from 0 to 30 s", "queue", "receive", "st", "--wait", "nan")
        add("number", .usage, "--wait must be", "queue", "receive", "st", "--wait", "31")
        add("number", .usage, "--visibility must be", "queue", "receive", "st", "--visibility", "inf")
        add("number", .usage, "--delay must be", "queue", "send", "st", "hi", "--delay", "1e300")
        add("number", .usage, "--delay must be", "queue", "send", "st", "hi", "--delay", "-0.5")
        add("number", .usage, "-n must be a whole number from 1 to 100,000", "queue", "peek", "st", "-n", "0")
        add("number", .usage, "-n must be", "queue", "peek", "st", "-n", "-1")
        add("number", .usage, "--ttl must be a whole number from 1 to 604,800 s, not '0'", "send", "alice", "5", "--to", "bob", "--ttl", "0")
        add("number", .usage, "--ttl must be a whole number from 1 to 604,800 s", "send", "alice", "5", "--to", "bob", "--ttl", "9223372036854775807")
        add("number", .usage, "--ttl must be a whole number from 1 to 604,800 s, not '-1'", "send", "alice", "5", "--to", "bob", "--ttl", "-1")
        add("number", .usage, "--ttl must be", "send", "alice", "5", "--to", "bob", "--ttl", "1.5")
        add("number", .usage, "--shares must be a whole number from 1 to 100, not '-3'", "send", "alice", "10", "--shares", "-3")
        add("number", .usage, "--shares must be", "send", "alice", "10", "--shares", "nan")
        add("number", .usage, "--shares must be", "send", "alice", "10", "--shares", "0x10")
        add("number", .usage, "--limit must be a whole number from 1 to 100,000", "account", "list", "--limit", "-1")
        add("number", .usage, "--limit must be", "account", "list", "--limit", "1e9")
        add("number", .usage, "--limit must be", "account", "show", "alice", "--limit", "nan")
        add("number", .usage, "--limit must be", "packet", "sent", "alice", "--limit", "0")
        add("number", .usage, "--rate must be a whole number from 0 to 1,000,000", "simulate", "--rate", "-5")
        add("number", .usage, "--duration must be", "simulate", "--duration", "nan")
        add("number", .usage, "--seed must be a whole number from 0 to", "simulate", "--seed", "-1")
        add("number", .usage, "--accounts must be", "seed-demo", "--accounts", "1e400")
        add("number", .usage, "--credit-failure must be a whole number from 0 to 100 %", "simulate", "--credit-failure", "101")
        add("number", .usage, "--scenario-load must be a whole number from 1 to 100 %", "--scenario-load", "0")
        // Amounts: only `12`, `12.3`, `12.34`, `¥12.34`.
        add("amount", .usage, "' 5' is not an amount", "send", "alice", " 5", "--to", "bob")
        add("amount", .usage, "'5 ' is not an amount", "send", "alice", "5 ", "--to", "bob")
        add("amount", .usage, "'1,000' is not an amount", "send", "alice", "1,000", "--to", "bob")
        add("amount", .usage, "'00012' is not an amount", "send", "alice", "00012", "--to", "bob")
        add("amount", .usage, "'nan' is not an amount", "send", "alice", "nan", "--to", "bob")
        add("amount", .usage, "'1e9' is not an amount", "send", "alice", "1e9", "--to", "bob")
        add("amount", .usage, "more than two decimals", "send", "alice", "0.001", "--to", "bob")
        add("amount", .usage, "'-5' is negative", "send", "alice", "-5", "--to", "bob")
        add("amount", .usage, "is not an amount", "send", "alice", "¥-5", "--to", "bob")
        add("amount", .usage, "is too large", "account", "open", "carol", "--deposit", "99999999999999999999")
        add("amount", .usage, "is not an amount", "account", "open", "carol", "--deposit", "５")
        add("amount", .usage, "is not an amount", "send", "alice", "5\n", "--to", "bob")
        // Terminal injection: what is echoed in an error is escaped.
        add("injection", .usage, "'x\\e]0;PWNED\\u{7}' cannot be an account name", "account", "open", "x\u{1B}]0;PWNED\u{7}")
        add("injection", .notFound, "no red packet '\\e[2J'", "packet", "show", "\u{1B}[2J")
        add("injection", .notFound, "no account named 'no\\nbody'", "account", "show", "no\nbody")
        add("injection", .notFound, "no red packet '\\e[31mP'", "grab", "\u{1B}[31mP", "bob")
        add("injection", .notFound, "no queue named '\\e]2;x\\u{7}'", "queue", "stats", "\u{1B}]2;x\u{7}")
        add("injection", .notFound, "no account named '\\u{9B}31m'", "send", "\u{9B}31m", "1", "--to", "bob")
        add("injection", .usage, "'a\\rb' cannot be an account name", "account", "open", "a\rb")
        add("injection", .usage, "is not a queue name", "queue", "create", "q\tname")
        add("injection", .notFound, "no account named 'bob\\u{202E}'", "send", "alice", "1", "--to", "bob\u{202E}")
        add("injection", .usage, "is not a message id", "queue", "send", "st", "x", "--id", "a\nb")
        add("injection", .usage, "is not a message id", "queue", "send", "st", "x", "--id", "\u{1B}[2J")
        // Greetings: at most 64 characters, the character rules of names (spaces allowed).
        add("greeting", .usage, "the greeting cannot be used: it contains a control character (\\e)", "send", "alice", "5", "--to", "bob", "--greeting", "hi\u{1B}[2J")
        add("greeting", .usage, "longer than 64 characters", "send", "alice", "5", "--to", "bob", "--greeting", long)
        add("greeting", .usage, "the greeting cannot be used", "send", "alice", "5", "--shares", "2", "--greeting", "two\nlines")
        add("greeting", .usage, "(U+202E)", "send", "alice", "5", "--to", "bob", "--greeting", "evil\u{202E}abc")
        add("greeting", .usage, "(U+200B)", "send", "alice", "5", "--to", "bob", "--greeting", "zw\u{200B}sp")
        add("greeting", .usage, "the greeting cannot be used", "send", "alice", "5", "--to", "bob", "--greeting", "a\u{2029}b")
        // Names: invisible, direction-changing, look-alike, reserved.
        add("name", .usage, "(U+FEFF)", "account", "open", "\u{FEFF}bob")
        add("name", .usage, "(U+202E)", "account", "open", "evil\u{202E}abc")
        add("name", .usage, "(U+200B)", "account", "open", "a\u{200B}b")
        add("name", .usage, "(U+2066)", "account", "open", "x\u{2066}y")
        add("name", .usage, "(U+00AD)", "account", "open", "a\u{AD}b")
        add("name", .usage, "(U+2060)", "account", "open", "a\u{2060}b")
        add("name", .usage, "(U+E0001)", "account", "open", "\u{E0001}x")
        add("name", .usage, "(U+200D)", "account", "open", "a\u{200D}b")
        add("name", .usage, "it contains spaces", "account", "open", "a b")
        add("name", .usage, "it contains spaces", "account", "open", "a\u{3000}b")
        add("name", .usage, "normal form C", "account", "open", "e\u{301}")
        add("name", .usage, "longer than 64 characters", "account", "open", String(repeating: "a", count: 65))
        add("name", .usage, "it is empty", "account", "open", "")
        add("name", .usage, "reserved for the system", "account", "open", "Mint")
        add("name", .usage, "reserved for the system", "account", "open", "ｍｉｎｔ")
        add("name", .usage, "reserved for the system", "account", "open", "ESCROW")
        add("name", .usage, "reserved for the system", "account", "open", "settlement")
        add("name", .usage, "':' is reserved", "account", "open", "escrow:x")
        add("name", .usage, "looks like the existing account 'alice'", "account", "open", "ALICE")
        add("name", .usage, "looks like the existing account 'alice'", "account", "open", "Ａｌｉｃｅ")
        add("name", .usage, "looks like the existing account 'alice'", "account", "open", "aLiCe", "--deposit", "5")
        // Receipts: forged, stale, foreign, malformed.
        add("receipt", .usage, "'1:s2' is not a receipt", "queue", "delete", "st", "1:s2")
        add("receipt", .usage, "is not a receipt", "queue", "delete", "st", "1:m1")
        add("receipt", .usage, "is not a receipt", "queue", "delete", "st", "")
        add("receipt", .usage, "'1:\\e[2J:x' is not a receipt", "queue", "delete", "st", "1:\u{1B}[2J:x")
        add("receipt", .notFound, "names no message received", "queue", "delete", "st", "1:\(String(repeating: "a", count: 20)):\(messageID)")
        add("receipt", .notFound, "names no message received", "queue", "delete", "st", "2:\(nonce):\(messageID)")
        add("receipt", .notFound, "names no message received", "queue", "delete", "st", "1:\(nonce):m9")
        add("receipt", .notFound, "names no message received", "queue", "delete", "other", seed.receipt)
        add("receipt", .refused, "is stale", "queue", "delete", "st", seed.staleReceipt)
        // The same kind of mistake, the same status everywhere.
        add("usage", .usage, "(see --help)", "account", "frob")
        add("usage", .usage, "Missing expected argument", "send", "alice")
        add("usage", .usage, "give either --to NAME", "send", "alice", "5")
        add("usage", .usage, "a message needs a body", "queue", "send", "st", "")
        add("usage", .usage, "is not a message id", "queue", "send", "st", "x", "--id", String(repeating: "i", count: 200))
        add("usage", .usage, "is not a queue name", "queue", "create", "bad name!")
        add("usage", .usage, "a personal packet holds at most", "send", "alice", "200.01", "--to", "bob")
        add("not found", .notFound, "no account named 'nobody'", "account", "show", "nobody")
        add("not found", .notFound, "no red packet 'nopacket'", "packet", "show", "nopacket")
        add("not found", .notFound, "no queue named 'nosuch'", "queue", "peek", "nosuch")
        add("refused", .refused, "not enough", "send", "bob", "5", "--to", "alice")
        add("refused", .refused, "already exists", "account", "open", "alice")
        add("refused", .refused, "already exists", "queue", "create", "st")
        add("refused", .refused, "already grabbed", "grab", seed.packet, "alice")
        // The data directory.
        table.append(Case(arguments: ["account", "list", "--data", ""], status: .usage, mentions: "--data is empty",
                          ownData: true, kind: "data directory"))
        table.append(Case(arguments: ["account", "list"], status: .usage, mentions: "HONGBAO_DATA is empty",
                          environment: ["HONGBAO_DATA": ""], ownData: true, kind: "data directory"))
        table.append(Case(arguments: ["account", "list", "--data", "\(seed.directory)/ledger.sqlite"], status: .unavailable,
                          mentions: "is not a directory", ownData: true, kind: "data directory"))
        return table
    }

    func testEveryHostileInputGetsOneCleanLineADocumentedStatusAndChangesNothing() throws {
        let seed = try seed()
        // One grab so that grabbing again is refused (the seed itself stays without grabs for the other cases).
        let table = cases(seed)
        XCTAssertGreaterThanOrEqual(table.count, 80)
        // Every copy holds, byte for byte, what the seed holds: its rows are read once, not once per case.
        let seedRows = try dump(seed.directory)
        var failures: [String] = []
        for entry in table {
            let copy = try copyOfSeed(seed)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            var before = seedRows
            if entry.arguments.first == "grab" && entry.status == .refused {
                let first = try binary.run(["grab", seed.packet, "alice", "--data", copy, "--durability", "normal"])
                XCTAssertEqual(first.status, 0, first.stderr)
                before = try dump(copy)
            }
            let arguments = entry.ownData ? entry.arguments : entry.arguments + ["--data", copy, "--durability", "normal"]
            let result = try binary.run(arguments, environment: entry.environment)
            let label = "\(entry.kind) \(entry.arguments.map { $0.debugDescription }.joined(separator: " ").prefix(120))"
            if result.status != entry.status.rawValue {
                failures.append("\(label): status \(result.status), expected \(entry.status.rawValue): \(result.stderr)")
            }
            let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.count != 2 || lines[1] != "" || !result.stderr.hasPrefix("hongbao: ") {
                failures.append("\(label): not one line: \(result.stderr.debugDescription)")
            }
            if let bad = result.stderr.dropLast().unicodeScalars.first(where: HostileInputTests.isUnsafe) {
                failures.append("\(label): U+\(String(bad.value, radix: 16)) reached stderr: \(result.stderr.debugDescription)")
            }
            if !result.stderr.contains(entry.mentions) {
                failures.append("\(label): '\(result.stderr)' should mention '\(entry.mentions)'")
            }
            if !result.stdout.isEmpty { failures.append("\(label): printed on stdout: \(result.stdout.debugDescription)") }
            if try dump(copy) != before { failures.append("\(label): changed the data directory") }
        }
        XCTAssertEqual(failures, [], "\(failures.count) of \(table.count) hostile inputs misbehaved")
        let kinds = Dictionary(grouping: table, by: \.kind).mapValues(\.count)
        print("hostile inputs: \(table.count) in \(kinds.count) classes: \(kinds.sorted { $0.key < $1.key })")
    }

    /// Text that producers and users stored is printed escaped: a body with an escape sequence, a tab and a
    /// newline keeps `queue peek` at one line of three tab-separated fields per message; JSON stays exact.
    func testStoredTextIsShownEscapedAndKeepsPeekLinesWhole() throws {
        let seed = try seed()
        let copy = try copyOfSeed(seed)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let data = ["--data", copy, "--durability", "normal"]
        let body = "a\tb\u{1B}]0;PWNED\u{7}\nline2\u{202E}"
        XCTAssertEqual(try binary.run(["queue", "send", "st", body, "--id", "evil"] + data).status, 0)
        XCTAssertEqual(try binary.run(["queue", "send", "st", "-5", "--id", "negative"] + data).status, 0, "a body may be '-5'")
        let peek = try binary.run(["queue", "peek", "st"] + data)
        XCTAssertEqual(peek.status, 0, peek.stderr)
        let lines = peek.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 4, peek.stdout)
        for line in lines { XCTAssertEqual(line.split(separator: "\t", omittingEmptySubsequences: false).count, 3, String(line)) }
        XCTAssertTrue(lines.contains("evil\t0\ta\\tb\\e]0;PWNED\\u{7}\\nline2\\u{202E}"), peek.stdout)
        XCTAssertTrue(lines.contains("negative\t0\t-5"), peek.stdout)
        XCTAssertFalse(peek.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E })
        let json = try binary.run(["queue", "peek", "st", "--json"] + data)
        let objects = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        XCTAssertTrue(objects.contains { $0["body"] as? String == body }, "JSON carries the exact body")
    }

    /// The data directory and every file in it are private; an existing readable one gets a one-line warning.
    func testTheDataDirectoryIsPrivateAndAReadableOneIsWarnedAbout() throws {
        let directory = ScratchRoot.path() + "/hongbao-private-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = ["--data", directory, "--durability", "normal"]
        XCTAssertEqual(try binary.run(["account", "open", "dora", "--deposit", "1"] + data).status, 0)
        XCTAssertEqual(try binary.run(["queue", "create", "q"] + data).status, 0)
        let quiet = try binary.run(["account", "list"] + data)
        XCTAssertEqual(quiet.stderr, "")
        let enumerator = try XCTUnwrap(FileManager.default.enumerator(atPath: directory))
        var checked = 0
        for case let name as String in enumerator {
            let path = directory + "/" + name
            let mode = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            XCTAssertEqual(mode, isDirectory.boolValue ? 0o700 : 0o600, "\(name) is \(String(mode, radix: 8))")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 6, "LOCK, ledger, queue/, three replicas and their files")
        let own = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int)
        XCTAssertEqual(own, 0o700)

        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let warned = try binary.run(["account", "list"] + data)
        XCTAssertEqual(warned.status, 0)
        XCTAssertEqual(warned.stderr.split(separator: "\n").count, 1, warned.stderr)
        XCTAssertTrue(warned.stderr.hasPrefix("hongbao: warning: other users can read \(directory) 755"), warned.stderr)
    }

    private func copyOfSeed(_ seed: Seed) throws -> String {
        let copy = ScratchRoot.path() + "/hongbao-hostile-\(UUID().uuidString.prefix(8))"
        try FileManager.default.copyItem(atPath: seed.directory, toPath: copy)
        return copy
    }

    /// Every row of every table of every SQLite file under `directory`, sorted: equal before and after means
    /// nothing was written.
    private func dump(_ directory: String) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        let enumerator = try XCTUnwrap(FileManager.default.enumerator(atPath: directory))
        for case let name as String in enumerator where name.hasSuffix(".sqlite") {
            var configuration = Configuration()
            configuration.readonly = true
            let database = try DatabaseQueue(path: directory + "/" + name, configuration: configuration)
            defer { try? database.close() }
            try database.read { db in
                let tables = try String.fetchAll(db, sql: """
                    SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name
                    """)
                for table in tables {
                    let rows = try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\"").map { $0.description }.sorted()
                    result[name + "/" + table] = rows
                }
            }
        }
        return result
    }

    /// What must never reach a terminal: C0 and C1 controls, DEL, bidirectional controls and invisible format characters.
    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 || (0x7F..<0xA0).contains(value) { return true }
        if value == 0x200D || (0xFE00...0xFE0F).contains(value) { return false }
        return scalar.properties.isBidiControl || scalar.properties.isDefaultIgnorableCodePoint || value == 0x2028 || value == 0x2029
    }
}
