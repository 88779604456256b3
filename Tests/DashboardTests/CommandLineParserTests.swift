import Dashboard
import Primitives
import XCTest

final class CommandLineParserTests: XCTestCase {
    private let parser = CommandLineParser()

    private func engine(_ line: String, file: StaticString = #filePath, lineNumber: UInt = #line) -> DashboardCommand? {
        switch parser.parse(line) {
        case .success(.engine(let command)): return command
        case .success(let other): XCTFail("\(line) → \(other)", file: file, line: lineNumber)
        case .failure(let error): XCTFail("\(line) → \(error.message)", file: file, line: lineNumber)
        }
        return nil
    }

    func testSendForms() {
        XCTAssertEqual(engine("send alice 100 --shares 10"), .send(PacketRequest(sender: "alice", amount: Money(yuan: 100), kind: .lucky(shares: 10))))
        XCTAssertEqual(engine("send alice 5 --to bob"), .send(PacketRequest(sender: "alice", amount: Money(yuan: 5), kind: .personal(recipient: "bob"))))
        XCTAssertEqual(engine("send 王小明 8.88 --shares 3 --equal --greeting \"恭喜 发财\""),
                       .send(PacketRequest(sender: "王小明", amount: Money(minorUnits: 888), kind: .equal(shares: 3), greeting: "恭喜 发财")))
    }

    func testOtherCommands() {
        XCTAssertEqual(engine("replica b down"), .replica(name: "b", action: .down))
        XCTAssertEqual(engine("replica C up"), .replica(name: "c", action: .restore))
        XCTAssertEqual(engine("replica a corrupt"), .replica(name: "a", action: .corrupt))
        XCTAssertEqual(engine("failure 30"), .setCreditFailureRate(percent: 30))
        XCTAssertEqual(engine("failure 100%"), .setCreditFailureRate(percent: 100))
        XCTAssertEqual(engine("latency 200ms"), .setLedgerLatency(milliseconds: 200))
        XCTAssertEqual(engine("workers crash"), .workers(.crash))
        XCTAssertEqual(engine("workers resume"), .workers(.resume))
        XCTAssertEqual(engine("gala start"), .gala(.start(ratePerSecond: nil)))
        XCTAssertEqual(engine("gala start 2000"), .gala(.start(ratePerSecond: 2_000)))
        XCTAssertEqual(engine("gala stop"), .gala(.stop))
        XCTAssertEqual(engine("mode transaction"), .setCreditMode(.transaction))
        XCTAssertEqual(engine("redrive"), .redriveDeadLetters)
        XCTAssertEqual(engine("failover"), .failover)
        XCTAssertEqual(engine("rewind credits 600"), .rewindQueue(queue: "credits", seconds: 600))
        XCTAssertEqual(engine("scenario"), .toggleScenarioPause)
        XCTAssertEqual(engine("grab p1 --user bob"), .grabAndOpen(packet: PacketID("p1"), user: "bob"))
        XCTAssertEqual(engine("open"), .grabAndOpen(packet: nil, user: nil))
    }

    func testDashboardCommands() {
        XCTAssertEqual(try parser.parse("q").get(), .quit)
        XCTAssertEqual(try parser.parse("  quit  ").get(), .quit)
        XCTAssertEqual(try parser.parse("help").get(), .help)
        XCTAssertEqual(try parser.parse("theme").get(), .cycleTheme)
        XCTAssertEqual(try parser.parse("refresh 250").get(), .refresh(milliseconds: 250))
    }

    func testErrorsAreTypedAndWorded() {
        let cases: [(String, CommandLineError)] = [
            ("", .empty),
            ("sned alice", .unknownCommand("sned")),
            ("send alice", .missingArgument(command: "send", usage: "send SENDER AMOUNT (--to NAME | --shares N [--equal]) [--greeting TEXT]")),
            ("send alice 10", .missingArgument(command: "send", usage: "send SENDER AMOUNT (--to NAME | --shares N [--equal]) [--greeting TEXT]")),
            ("send alice 1.234 --shares 2", .badAmount("1.234")),
            ("send alice 100 --shares 101", .outOfRange(what: "shares", value: 101, range: 1...100)),
            ("send alice 100 --shares ten", .badNumber("ten")),
            ("rewind", .missingArgument(command: "rewind", usage: "rewind QUEUE SECONDS (deleted messages too)")),
            ("rewind jobs", .missingArgument(command: "rewind", usage: "rewind QUEUE SECONDS (deleted messages too)")),
            ("rewind jobs 0", .outOfRange(what: "rewind seconds", value: 0, range: 1...1_296_000)),
            ("rewind jobs ten", .badNumber("ten")),
            ("send alice 100 --bogus", .unknownOption("--bogus")),
            ("failure 130", .outOfRange(what: "failure rate", value: 130, range: 0...100)),
            ("failure lots", .badNumber("lots")),
            ("replica d down", .unknownReplica("d")),
            ("replica b explode", .unknownAction(command: "replica", action: "explode", allowed: ["down", "slow", "corrupt", "restore"])),
            ("workers dance", .unknownAction(command: "workers", action: "dance", allowed: ["pause", "resume", "crash", "restart"])),
            ("mode maybe", .unknownAction(command: "mode", action: "maybe", allowed: ["queue", "transaction"])),
            ("refresh 5", .outOfRange(what: "refresh interval", value: 5, range: 50...2_000)),
            // Hostile numbers: the grammar of every number of the program (digits only), never a trap.
            ("failure nan", .badNumber("nan")),
            ("failure inf", .badNumber("inf")),
            ("failure 1e400", .badNumber("1e400")),
            ("failure -1", .badNumber("-1")),
            ("failure +5", .badNumber("+5")),
            ("latency 99999999999999999999999", .badNumber("99999999999999999999999")),
            ("gala start 9223372036854775808", .badNumber("9223372036854775808")),
            ("send alice 100 --shares ٣", .badNumber("٣")),
            ("send alice 100 --shares 007", .badNumber("007")),
            ("send alice 1,000 --shares 2", .badAmount("1,000")),
            ("send alice \" 5\" --shares 2", .badAmount(" 5")),
            ("send alice nan --shares 2", .badAmount("nan")),
        ]
        for (line, expected) in cases {
            XCTAssertEqual(parser.parse(line), .failure(expected), line)
            XCTAssertFalse(expected.message.isEmpty)
        }
        XCTAssertEqual(CommandLineError.unknownReplica("d").message, "unknown replica 'd' (a, b or c)")
    }
}
