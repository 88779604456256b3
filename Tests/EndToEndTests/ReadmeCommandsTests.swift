import Foundation
import PostgresCluster
import Primitives
import XCTest

/// Every `hongbao …` command the README shows runs as written: the test reads the README's indented command
/// lines, fills in what a person would (the packet id `send` printed, the receipt `queue receive` printed),
/// and runs each one against one data directory, in order, expecting success.
///
/// The long ones (the Gala scenario, about two minutes; `bench`, minutes; `serve`, until stopped) start
/// together first, each in its own scratch directory, and must each have printed its first line (a second of
/// load, the first bench run, the listening address) and still be running, with nothing on stderr but progress,
/// two seconds or more after the start: they are stopped there. `serve` gets `--port 0` (a free port): the README's port may be taken on a shared
/// machine. A command that names its own `--data` gets the test's directory in its place.
/// The dashboard (`swift run … hongbao`, or `hongbao` with options only) needs a terminal and is the tmux
/// tests' job.
final class ReadmeCommandsTests: XCTestCase {
    private static let longRunning = ["simulate --scenario", "bench", "serve"]

    /// The README's command lines: indented, starting with `hongbao `, comments dropped, `a && b` split, and
    /// synopsis lines (with `[`, `|` or `<`) left out.
    static func commands(in readme: String) -> [[String]] {
        var commands: [[String]] = []
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) where line.hasPrefix("    hongbao ") {
            let code = line.components(separatedBy: "  #").first ?? String(line)
            if code.contains("[") || code.contains("|") || code.contains("<") { continue }
            for part in code.components(separatedBy: "&&") {
                // A trailing `&` (run in the background) is the shell's, not the command's.
                let words = part.split(separator: " ").map(String.init).filter { $0 != "&" }
                if words.first == "hongbao" { commands.append(Array(words.dropFirst())) }
            }
        }
        return commands
    }

    func testTheReadmeHasNoShorthandCommandLines() throws {
        let readme = try String(contentsOf: HongbaoBinary.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        for line in readme.split(separator: "\n") where line.hasPrefix("    hongbao ") {
            let code = line.components(separatedBy: "  #").first ?? String(line)
            XCTAssertFalse(code.contains(" / "), "'\(line)' is not a command a person can type")
        }
    }

    /// `.ci/run` runs the README's test command, word for word (the two are measured as one).
    func testTheCIRunsTheReadmesTestCommand() throws {
        let root = HongbaoBinary.repositoryRoot
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let ci = try String(contentsOf: root.appendingPathComponent(".ci/run"), encoding: .utf8)
        let lines = readme.split(separator: "\n", omittingEmptySubsequences: false)
        let heading = try XCTUnwrap(lines.firstIndex(of: "Run the tests:"), "the README's test command was not found")
        let command = try XCTUnwrap(lines[(heading + 1)...].first { !$0.isEmpty }).trimmingCharacters(in: .whitespaces)
        XCTAssertTrue(command.hasPrefix("swift build --build-tests"), command)
        let run = ci.split(separator: "\n").filter { $0.hasPrefix("swift ") }.map(String.init)
        XCTAssertEqual(run, [command], ".ci/run runs something else than the README's test command")
    }

    func testEveryCommandInTheReadmeRunsAsWritten() throws {
        let binary = try HongbaoBinary()
        let root = HongbaoBinary.repositoryRoot
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let commands = ReadmeCommandsTests.commands(in: readme)
        XCTAssertGreaterThan(commands.count, 20, "the README's commands were not found")
        let data = ScratchRoot.path() + "/hongbao-readme-\(UUID().uuidString.prefix(8))"
        addTeardownBlock {
            // The README's `cluster up` starts PostgreSQL servers under the data directory: stop them even when
            // a command failed before the README's own `cluster down`, and delete them (run as root they live
            // under the postgres user's home, which deleting the data directory alone would leave behind).
            await LocalCluster(dataDirectory: data).remove()
            try? FileManager.default.removeItem(atPath: data)
        }
        let long = commands.filter { ReadmeCommandsTests.isLongRunning($0) }
        XCTAssertFalse(long.isEmpty, "the README's long commands (the Gala scenario, bench, serve) were not found")
        try assertStartAndKeepRunning(binary, long, root: root)
        var packet: String?
        var receipt: String?
        for command in commands where !ReadmeCommandsTests.isLongRunning(command) {
            let line = command.joined(separator: " ")
            // The dashboard with options (`hongbao --store postgres`) needs a terminal, like the bare one.
            if command.first?.hasPrefix("-") ?? true { continue }
            let filled = command.map { word -> String in
                switch word {
                case "PACKET": return packet ?? word
                case "RECEIPT": return receipt ?? word
                default: return word
                }
            }
            // NORMAL for speed on SQLite; on PostgreSQL the server decides, and --durability normal is refused.
            let speed = filled.contains("postgres") ? [] : ["--durability", "normal"]
            let result = try binary.run(ReadmeCommandsTests.withData(filled, data) + speed, directory: root)
            XCTAssertEqual(result.status, 0, "hongbao \(line): \(result.stdout) \(result.stderr)")
            if command.first == "send", let id = result.stdout.split(separator: "\n").first {
                packet = String(id)
            }
            if command.starts(with: ["queue", "receive"]), let first = result.stdout.split(separator: "\t").first {
                receipt = String(first)
            }
        }
        XCTAssertNotNil(packet, "the README sends no packet")
        XCTAssertNotNil(receipt, "the README receives no message")
    }

    /// The command with `--data DIR`: its own `--data` value replaced, or the option added.
    static func withData(_ command: [String], _ directory: String) -> [String] {
        guard let index = command.firstIndex(of: "--data"), index + 1 < command.count else {
            return command + ["--data", directory]
        }
        var replaced = command
        replaced[index + 1] = directory
        return replaced
    }

    static func isLongRunning(_ command: [String]) -> Bool {
        let line = command.joined(separator: " ")
        return longRunning.contains(where: { line.hasPrefix($0) })
    }

    /// Starts the long commands together, each in its own scratch directory, waits until each has printed
    /// something (at most `outputSeconds`) and `runningSeconds` have passed, and checks each is still running,
    /// without an error; then stops them. (Together: one wait, not one each.)
    private func assertStartAndKeepRunning(_ binary: HongbaoBinary, _ commands: [[String]], root: URL) throws {
        let runningSeconds = 2.0
        let outputSeconds = 30.0
        var started: [(command: [String], process: Process, output: String, scratch: String)] = []
        defer {
            for run in started {
                if run.process.isRunning { run.process.terminate() }
                run.process.waitUntilExit()
                for path in [run.scratch, run.output + ".out", run.output + ".err"] { try? FileManager.default.removeItem(atPath: path) }
            }
        }
        for command in commands {
            let scratch = ScratchRoot.path() + "/hongbao-readme-long-\(UUID().uuidString.prefix(8))"
            let output = scratch + "-output"
            let files = try [".out", ".err"].map { suffix in
                _ = FileManager.default.createFile(atPath: output + suffix, contents: nil)
                return try XCTUnwrap(FileHandle(forWritingAtPath: output + suffix), output + suffix)
            }
            let port = command.first == "serve" ? ["--port", "0"] : []
            let process = try binary.start(ReadmeCommandsTests.withData(command, scratch) + port, stdout: files[0],
                                           stderr: files[1], directory: root)
            started.append((command, process, output, scratch))
        }
        let start = Date()
        func printed(_ output: String) -> Bool {
            [".out", ".err"].contains { ((try? FileManager.default.attributesOfItem(atPath: output + $0)[.size]) as? Int ?? 0) > 0 }
        }
        while Date().timeIntervalSince(start) < outputSeconds {
            let waited = Date().timeIntervalSince(start) >= runningSeconds
            if started.contains(where: { !$0.process.isRunning }) || (waited && started.allSatisfy({ printed($0.output) })) { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let running = started.map { $0.process.isRunning }
        for (run, wasRunning) in zip(started, running) {
            if wasRunning { run.process.terminate() }
            run.process.waitUntilExit()
            let stderr = (try? String(contentsOfFile: run.output + ".err", encoding: .utf8)) ?? ""
            let line = run.command.joined(separator: " ")
            XCTAssertTrue(wasRunning, "hongbao \(line) stopped at once: \(stderr)")
            XCTAssertTrue(printed(run.output), "hongbao \(line) printed nothing in \(outputSeconds) s")
            XCTAssertFalse(stderr.contains("hongbao:") || stderr.contains("Error:"), "\(line): \(stderr)")
        }
    }
}
