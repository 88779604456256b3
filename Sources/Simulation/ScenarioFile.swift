import Foundation
import MessageQueue
import TOMLKit
import Engine

/// Why a scenario file cannot be played: always names the file, and the line when there is one.
public struct ScenarioFileError: Error, Equatable, CustomStringConvertible, Sendable {
    public let path: String
    public let line: Int?
    public let problem: String

    public var description: String {
        "\(path)\(line.map { ":\($0)" } ?? ""): \(problem)"
    }
}

/// Reads scenarios from TOML:
///
/// ```toml
/// name = "Gala"
/// duration = 120            # seconds; the load stops then
///
/// [[step]]
/// at = 0                    # seconds from the start
/// caption = "Load ramps up"
/// rate = 2000               # any of the keys below, each optional
/// credit_failure = 20       # percent
/// ledger_latency = 50       # milliseconds
/// outage = true
/// replica_down = "b"        # also replica_up, replica_slow = "b:200", replica_corrupt, replica_restore
/// workers = "crash"         # pause, crash, restart
/// credit_mode = "transaction"
/// redrive = true
/// view = "presenter"        # the dashboard view for this step: panes, presenter or compare
/// ```
public enum ScenarioFile {
    public static func load(path: String) throws -> Scenario {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ScenarioFileError(path: path, line: nil, problem: "does not exist")
        }
        if isDirectory.boolValue {
            throw ScenarioFileError(path: path, line: nil, problem: "is a directory, not a scenario file (.toml)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScenarioFileError(path: path, line: nil, problem: "cannot be read (\(String(cString: strerror(errno))))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioFileError(path: path, line: nil, problem: "is not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws -> Scenario {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ScenarioFileError(path: path, line: error.source.begin.line, problem: error.description)
        } catch {
            throw ScenarioFileError(path: path, line: nil, problem: "\(error)")
        }
        let lines = KeyLines(text)
        for key in table.keys where !["name", "duration", "step"].contains(key) {
            throw ScenarioFileError(path: path, line: lines.first(key), problem: "unknown key '\(key)'")
        }
        let name = table["name"]?.string ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        guard let durationValue = table["duration"] else {
            throw ScenarioFileError(path: path, line: nil, problem: "missing 'duration' (seconds)")
        }
        guard let durationSeconds = durationValue.int, (1...86_400).contains(durationSeconds) else {
            throw ScenarioFileError(path: path, line: lines.first("duration"), problem: "'duration' must be 1 to 86400 seconds")
        }
        guard let stepArray = table["step"]?.array else {
            throw ScenarioFileError(path: path, line: nil, problem: "no [[step]] tables")
        }
        var steps: [Scenario.Step] = []
        var stepLines = lines.all("[[step]]")
        for (index, value) in stepArray.enumerated() {
            let line = index < stepLines.count ? stepLines[index] : nil
            guard let step = value.table else {
                throw ScenarioFileError(path: path, line: line, problem: "step \(index + 1) is not a table")
            }
            steps.append(try parseStep(step, number: index + 1, line: line, path: path, lines: lines))
        }
        stepLines.removeAll()
        for (previous, next) in zip(steps, steps.dropFirst()) where next.at < previous.at {
            throw ScenarioFileError(path: path, line: nil, problem: "steps must be in time order")
        }
        return Scenario(name: name, steps: steps, duration: .seconds(durationSeconds))
    }

    private static func parseStep(_ step: TOMLTable, number: Int, line: Int?, path: String, lines: KeyLines) throws -> Scenario.Step {
        func fail(_ key: String, _ problem: String) -> ScenarioFileError {
            ScenarioFileError(path: path, line: lines.first(key, after: line) ?? line, problem: "step \(number): \(problem)")
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let value = step[key] else { return nil }
            guard let number = value.int, range.contains(number) else {
                throw fail(key, "'\(key)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        func replica(_ key: String) throws -> ReplicaID? {
            guard let value = step[key] else { return nil }
            guard let text = value.string, let id = ReplicaID(rawValue: text) else {
                throw fail(key, "'\(key)' must be \"a\", \"b\" or \"c\"")
            }
            return id
        }
        guard let at = try int("at", 0...86_400) else { throw fail("at", "missing 'at' (seconds from the start)") }
        var actions: [Scenario.Action] = []
        let known: Set = ["at", "caption", "rate", "credit_failure", "ledger_latency", "outage", "replica_down", "replica_up",
                          "replica_slow", "replica_corrupt", "replica_restore", "workers", "credit_mode", "redrive", "view"]
        for key in step.keys where !known.contains(key) { throw fail(key, "unknown key '\(key)'") }
        if let rate = try int("rate", 0...1_000_000) { actions.append(.rate(rate)) }
        if let percent = try int("credit_failure", 0...100) { actions.append(.creditFailure(percent: percent)) }
        if let latency = try int("ledger_latency", 0...60_000) { actions.append(.ledgerLatency(milliseconds: latency)) }
        if let value = step["outage"] {
            guard let outage = value.bool else { throw fail("outage", "'outage' must be true or false") }
            actions.append(.outage(outage))
        }
        if let id = try replica("replica_down") { actions.append(.replicaDown(id)) }
        if let id = try replica("replica_up") { actions.append(.replicaUp(id)) }
        if let id = try replica("replica_corrupt") { actions.append(.replicaCorrupt(id)) }
        if let id = try replica("replica_restore") { actions.append(.replicaRestore(id)) }
        if let value = step["replica_slow"] {
            let parts = value.string?.split(separator: ":") ?? []
            guard parts.count == 2, let id = ReplicaID(rawValue: String(parts[0])), let ms = Int(parts[1]), (0...60_000).contains(ms) else {
                throw fail("replica_slow", "'replica_slow' must look like \"b:200\" (replica:milliseconds)")
            }
            actions.append(.replicaSlow(id, milliseconds: ms))
        }
        if let value = step["workers"] {
            switch value.string {
            case "pause": actions.append(.workersPause)
            case "crash": actions.append(.workersCrash)
            case "restart": actions.append(.workersRestart)
            default: throw fail("workers", "'workers' must be \"pause\", \"crash\" or \"restart\"")
            }
        }
        if let value = step["credit_mode"] {
            guard let mode = value.string.flatMap(CreditMode.init(rawValue:)) else {
                throw fail("credit_mode", "'credit_mode' must be \"queue\" or \"transaction\"")
            }
            actions.append(.creditMode(mode))
        }
        if let value = step["redrive"] {
            guard value.bool != nil else { throw fail("redrive", "'redrive' must be true or false") }
            if value.bool == true { actions.append(.redrive) }
        }
        var view: String?
        if let value = step["view"] {
            guard let name = value.string, Scenario.views.contains(name) else {
                throw fail("view", "'view' must be \"panes\", \"presenter\" or \"compare\"")
            }
            view = name
        }
        return Scenario.Step(at: .seconds(at), actions: actions, caption: step["caption"]?.string ?? "", view: view)
    }
}

/// Where keys appear in the source text, so that a bad value can be reported with its line.
struct KeyLines {
    private let lines: [Substring]

    init(_ text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The first line (1-based) at or after `after` that assigns `key` (or is `key` itself, for headers).
    func first(_ key: String, after: Int? = nil) -> Int? {
        let start = max(0, (after ?? 1) - 1)
        guard start < lines.count else { return nil }
        for index in start..<lines.count where matches(lines[index], key) { return index + 1 }
        return nil
    }

    func all(_ key: String) -> [Int] {
        lines.indices.filter { matches(lines[$0], key) }.map { $0 + 1 }
    }

    private func matches(_ line: Substring, _ key: String) -> Bool {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        if key.hasPrefix("[") { return trimmed.hasPrefix(key) }
        guard trimmed.hasPrefix(key) else { return false }
        let rest = trimmed.dropFirst(key.count).drop { $0 == " " || $0 == "\t" }
        return rest.first == "="
    }
}
