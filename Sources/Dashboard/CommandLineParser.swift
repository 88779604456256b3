import Primitives

/// What a `:` command line asks for: an engine command, or something the dashboard does itself.
public enum CommandLineAction: Sendable, Equatable {
    case engine(DashboardCommand)
    case quit
    case help
    case cycleTheme
    /// Use the theme of this name (refused when there is no such theme).
    case theme(String)
    case toggleFreeze
    /// Set the refresh interval (milliseconds).
    case refresh(milliseconds: Int)
    /// Show this view (`presenter`, `compare`, `view panes`).
    case view(DashboardView)
}

/// Parses the `:` command line. Accepts the same words as the CLI:
/// `send alice 100 --shares 10`, `send alice 5 --to bob`, `grab [PACKET] [--user NAME]`, `gala start [RATE]`,
/// `failure 30`, `latency 200`, `replica b down`, `workers crash`, `mode transaction`, `redrive`, `rewind credits 60`, `quit`.
public struct CommandLineParser: Sendable {
    public var limits: Limits
    /// Bounds for `latency` (ms) and `refresh` (ms).
    public var latencyRange: ClosedRange<Int> = 0...10_000
    public var refreshRange: ClosedRange<Int> = RefreshRate.range

    public init(limits: Limits = .default) {
        self.limits = limits
    }

    /// Every command word with its usage, for `:help` and error messages.
    public static let usages: [(command: String, usage: String)] = [
        ("send", "send SENDER AMOUNT (--to NAME | --shares N [--equal]) [--greeting TEXT]"),
        ("grab", "grab [PACKET] [--user NAME]"),
        ("gala", "gala start [RATE] | stop | faster | slower"),
        ("failure", "failure PERCENT"),
        ("latency", "latency MILLISECONDS"),
        ("replica", "replica a|b|c down|slow|corrupt|restore"),
        ("failover", "failover (PostgreSQL: kill the primary, promote a standby; F)"),
        ("workers", "workers pause|resume|crash|restart"),
        ("mode", "mode queue|transaction"),
        ("redrive", "redrive"),
        ("rewind", "rewind QUEUE SECONDS (deleted messages too)"),
        ("scenario", "scenario [pause | next | previous | restart]"),
        ("presenter", "presenter (big numbers; v)"),
        ("compare", "compare [on | off] (queue and transaction side by side; c)"),
        ("view", "view panes | presenter | compare"),
        ("refresh", "refresh MILLISECONDS"),
        ("theme", "theme [NAME] (no name: the next theme)"),
        ("freeze", "freeze"),
        ("quit", "quit"),
    ]

    /// Parses one line (without the leading `:`).
    public func parse(_ line: String) -> Result<CommandLineAction, CommandLineError> {
        let words = CommandLineParser.tokenize(line)
        guard let head = words.first?.lowercased() else { return .failure(.empty) }
        let rest = Array(words.dropFirst())
        switch head {
        case "send": return parseSend(rest).map { .engine(.send($0)) }
        case "grab", "open": return parseGrab(rest)
        case "gala", "load": return parseGala(rest)
        case "failure", "failures", "fail":
            return integer(rest.first, command: "failure", range: 0...100, what: "failure rate")
                .map { .engine(.setCreditFailureRate(percent: $0)) }
        case "latency":
            return integer(rest.first, command: "latency", range: latencyRange, what: "latency")
                .map { .engine(.setLedgerLatency(milliseconds: $0)) }
        case "replica": return parseReplica(rest)
        case "failover": return .success(.engine(.failover))
        case "workers", "worker": return parseWorkers(rest)
        case "mode": return parseMode(rest)
        case "redrive": return .success(.engine(.redriveDeadLetters))
        case "rewind":
            guard let queue = rest.first else { return .failure(.missingArgument(command: "rewind", usage: Self.usage("rewind"))) }
            return integer(rest.dropFirst().first, command: "rewind", range: 1...Int(limits.queue.maxRetention.components.seconds), what: "rewind seconds")
                .map { .engine(.rewindQueue(queue: queue, seconds: $0)) }
        case "scenario": return parseScenario(rest)
        case "presenter": return .success(.view(.presenter))
        case "compare", "side-by-side":
            switch rest.first?.lowercased() {
            case nil, "on": return .success(.view(.compare))
            case "off": return .success(.view(.panes))
            case let word?: return .failure(.unknownAction(command: "compare", action: word, allowed: ["on", "off"]))
            }
        case "view":
            guard let word = rest.first?.lowercased() else { return .failure(.missingArgument(command: "view", usage: Self.usage("view"))) }
            guard let view = DashboardView(rawValue: word) else {
                return .failure(.unknownAction(command: "view", action: word, allowed: DashboardView.allCases.map(\.rawValue)))
            }
            return .success(.view(view))
        case "refresh":
            return integer(rest.first, command: "refresh", range: refreshRange, what: "refresh interval")
                .map { .refresh(milliseconds: $0) }
        case "theme": return .success(rest.first.map { .theme(String($0)) } ?? .cycleTheme)
        case "freeze", "pause": return .success(.toggleFreeze)
        case "help", "h", "?": return .success(.help)
        case "quit", "q", "exit": return .success(.quit)
        default: return .failure(.unknownCommand(head))
        }
    }

    private static func usage(_ command: String) -> String {
        usages.first { $0.command == command }?.usage ?? command
    }

    private func integer(_ text: String?, command: String, range: ClosedRange<Int>, what: String) -> Result<Int, CommandLineError> {
        guard var text else { return .failure(.missingArgument(command: command, usage: Self.usage(command))) }
        if text.hasSuffix("%") { text.removeLast() }
        if text.hasSuffix("ms") { text.removeLast(2) }
        guard let value = NumberText.wholeNumber(text) else { return .failure(.badNumber(text)) }
        guard range.contains(value) else { return .failure(.outOfRange(what: what, value: value, range: range)) }
        return .success(value)
    }

    private func parseSend(_ words: [String]) -> Result<PacketRequest, CommandLineError> {
        var positional: [String] = []
        var recipient: String?
        var shares: Int?
        var equal = false
        var greeting: String?
        var index = 0
        while index < words.count {
            let word = words[index]
            let value: String? = index + 1 < words.count ? words[index + 1] : nil
            switch word {
            case "--to":
                guard let value else { return .failure(.missingArgument(command: "send", usage: Self.usage("send"))) }
                recipient = value
                index += 2
            case "--shares":
                guard let value else { return .failure(.missingArgument(command: "send", usage: Self.usage("send"))) }
                guard let count = NumberText.wholeNumber(value) else { return .failure(.badNumber(value)) }
                shares = count
                index += 2
            case "--greeting":
                guard let value else { return .failure(.missingArgument(command: "send", usage: Self.usage("send"))) }
                greeting = value
                index += 2
            case "--equal":
                equal = true
                index += 1
            case "--lucky":
                equal = false
                index += 1
            default:
                if word.hasPrefix("--") { return .failure(.unknownOption(word)) }
                positional.append(word)
                index += 1
            }
        }
        guard positional.count == 2 else { return .failure(.missingArgument(command: "send", usage: Self.usage("send"))) }
        let amount: Money
        switch Money.parse(positional[1]) {
        case .success(let parsed): amount = parsed
        case .failure: return .failure(.badAmount(positional[1]))
        }
        let kind: PacketRequest.Kind
        if let recipient {
            kind = .personal(recipient: recipient)
        } else if let shares {
            guard (limits.packets.minShares...limits.packets.maxShares).contains(shares) else {
                return .failure(.outOfRange(what: "shares", value: shares, range: limits.packets.minShares...limits.packets.maxShares))
            }
            kind = equal ? .equal(shares: shares) : .lucky(shares: shares)
        } else {
            return .failure(.missingArgument(command: "send", usage: Self.usage("send")))
        }
        return .success(PacketRequest(sender: positional[0], amount: amount, kind: kind, greeting: greeting))
    }

    private func parseGrab(_ words: [String]) -> Result<CommandLineAction, CommandLineError> {
        var packet: PacketID?
        var user: String?
        var index = 0
        while index < words.count {
            let word = words[index]
            if word == "--user" {
                guard index + 1 < words.count else { return .failure(.missingArgument(command: "grab", usage: Self.usage("grab"))) }
                user = words[index + 1]
                index += 2
            } else if word.hasPrefix("--") {
                return .failure(.unknownOption(word))
            } else {
                packet = PacketID(word)
                index += 1
            }
        }
        return .success(.engine(.grabAndOpen(packet: packet, user: user)))
    }

    private func parseGala(_ words: [String]) -> Result<CommandLineAction, CommandLineError> {
        guard let action = words.first?.lowercased() else {
            return .failure(.missingArgument(command: "gala", usage: Self.usage("gala")))
        }
        switch action {
        case "start":
            guard let rateText = words.dropFirst().first else { return .success(.engine(.gala(.start(ratePerSecond: nil)))) }
            return integer(rateText, command: "gala", range: 1...1_000_000, what: "rate")
                .map { .engine(.gala(.start(ratePerSecond: $0))) }
        case "stop": return .success(.engine(.gala(.stop)))
        case "faster", "up": return .success(.engine(.gala(.faster)))
        case "slower", "down": return .success(.engine(.gala(.slower)))
        default:
            return .failure(.unknownAction(command: "gala", action: action, allowed: ["start", "stop", "faster", "slower"]))
        }
    }

    private func parseReplica(_ words: [String]) -> Result<CommandLineAction, CommandLineError> {
        guard words.count >= 2 else { return .failure(.missingArgument(command: "replica", usage: Self.usage("replica"))) }
        let name = words[0].lowercased()
        // a, b or c; or a server as the replicas pane names those of a `--postgres` URL (host:port), for the
        // engine to say what it can do with it.
        guard ["a", "b", "c"].contains(name) || name.contains(":") else { return .failure(.unknownReplica(words[0])) }
        let actionWord = words[1].lowercased() == "up" ? "restore" : words[1].lowercased()
        guard let action = ReplicaAction(rawValue: actionWord) else {
            return .failure(.unknownAction(command: "replica", action: words[1], allowed: ReplicaAction.allCases.map(\.rawValue)))
        }
        return .success(.engine(.replica(name: name, action: action)))
    }

    private func parseWorkers(_ words: [String]) -> Result<CommandLineAction, CommandLineError> {
        guard let word = words.first?.lowercased() else {
            return .failure(.missingArgument(command: "workers", usage: Self.usage("workers")))
        }
        guard let action = WorkerAction(rawValue: word) else {
            return .failure(.unknownAction(command: "workers", action: word, allowed: WorkerAction.allCases.map(\.rawValue)))
        }
        return .success(.engine(.workers(action)))
    }

    private func parseScenario(_ words: [String]) -> Result<CommandLineAction, CommandLineError> {
        switch words.first?.lowercased() {
        case nil, "pause", "resume", "start", "play": return .success(.engine(.toggleScenarioPause))
        case "next", "n": return .success(.engine(.scenarioStep(.next)))
        case "previous", "prev", "back", "b": return .success(.engine(.scenarioStep(.previous)))
        case "restart": return .success(.engine(.scenarioStep(.restart)))
        case let word?:
            return .failure(.unknownAction(command: "scenario", action: word, allowed: ["pause", "resume", "next", "previous", "restart"]))
        }
    }

    private func parseMode(_ words: [String]) -> Result<CommandLineAction, CommandLineError> {
        guard let word = words.first?.lowercased() else {
            return .failure(.missingArgument(command: "mode", usage: Self.usage("mode")))
        }
        guard let mode = CreditMode(rawValue: word) else {
            return .failure(.unknownAction(command: "mode", action: word, allowed: CreditMode.allCases.map(\.rawValue)))
        }
        return .success(.engine(.setCreditMode(mode)))
    }

    /// Splits on whitespace; double quotes group words ("恭喜 发财").
    static func tokenize(_ line: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inQuotes = false
        var hasWord = false
        for character in line {
            if character == "\"" {
                inQuotes.toggle()
                hasWord = true
            } else if character.isWhitespace && !inQuotes {
                if hasWord { words.append(current) }
                current = ""
                hasWord = false
            } else {
                current.append(character)
                hasWord = true
            }
        }
        if hasWord { words.append(current) }
        return words
    }
}
