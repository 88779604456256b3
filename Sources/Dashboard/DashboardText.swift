import Primitives

/// The dashboard's wording in one place: commands, durations, rates.
public enum DashboardText {
    /// A command as one short line ("replica b down", "send ¥100.00 from alice in 10 lucky shares").
    public static func describe(_ command: DashboardCommand) -> String {
        switch command {
        case .send(let request):
            switch request.kind {
            case .personal(let recipient): return "send \(request.amount.formatted) from \(request.sender) to \(recipient)"
            case .lucky(let shares): return "send \(request.amount.formatted) from \(request.sender) in \(shares) lucky shares"
            case .equal(let shares): return "send \(request.amount.formatted) from \(request.sender) in \(shares) equal shares"
            }
        case .grabAndOpen(let packet, let user):
            return "grab + open \(packet?.rawValue ?? "newest packet")\(user.map { " as \($0)" } ?? "")"
        case .gala(.start(let rate)): return "Gala load start\(rate.map { " at \($0)/s" } ?? "")"
        case .gala(.stop): return "Gala load stop"
        case .gala(.faster): return "Gala load faster"
        case .gala(.slower): return "Gala load slower"
        case .setCreditFailureRate(let percent): return "credit failures \(percent)%"
        case .setLedgerLatency(let milliseconds): return "account latency +\(milliseconds) ms"
        case .replica(let name, let action): return "replica \(name) \(action.word)"
        case .failover: return "failover"
        case .workers(let action): return "workers \(action.rawValue)"
        case .setCreditMode(let mode): return "credit mode \(mode.rawValue)"
        case .redriveDeadLetters: return "redrive dead letters"
        case .rewindQueue(let queue, let seconds): return "rewind \(queue) \(seconds) s"
        case .toggleScenarioPause: return "scenario pause / resume"
        case .scenarioStep(let step): return "scenario \(step.rawValue)"
        case .compare(let on): return on ? "side by side on" : "side by side off"
        }
    }

    /// "850µs", "3.2ms", "41ms", "1.25s", "2m05s", "1h02m".
    public static func duration(_ duration: Duration) -> String {
        let microseconds = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        if microseconds < 0 { return "-" + self.duration(.microseconds(-microseconds)) }
        if microseconds < 1_000 { return "\(microseconds)µs" }
        if microseconds < 10_000 { return "\(microseconds / 1_000).\(microseconds / 100 % 10)ms" }
        if microseconds < 1_000_000 { return "\(microseconds / 1_000)ms" }
        let seconds = microseconds / 1_000_000
        if seconds < 60 { return "\(seconds).\(pad(Int(microseconds / 10_000 % 100)))s" }
        if seconds < 3_600 { return "\(seconds / 60)m\(pad(Int(seconds % 60)))s" }
        return "\(seconds / 3_600)h\(pad(Int(seconds / 60 % 60)))m"
    }

    /// Uptime as "HH:MM:SS" (days prefixed when needed).
    public static func uptime(_ duration: Duration) -> String {
        let seconds = max(0, duration.components.seconds)
        let clock = "\(pad(Int(seconds / 3_600 % 24))):\(pad(Int(seconds / 60 % 60))):\(pad(Int(seconds % 60)))"
        return seconds >= 86_400 ? "\(seconds / 86_400)d \(clock)" : clock
    }

    /// Wall-clock time of day in UTC, "HH:MM:SS".
    public static func timeOfDay(_ timestamp: Timestamp) -> String {
        let seconds = (timestamp.millisecondsSinceEpoch / 1_000) % 86_400
        let positive = seconds < 0 ? seconds + 86_400 : seconds
        return "\(pad(Int(positive / 3_600))):\(pad(Int(positive / 60 % 60))):\(pad(Int(positive % 60)))"
    }

    /// A rate with one decimal below 100 and grouped thousands above: "7.5", "1,234".
    public static func rate(_ value: Double) -> String {
        guard value.isFinite, value > 0 else { return "0" }
        if value < 100 {
            let tenths = Int((value * 10).rounded())
            return "\(tenths / 10).\(tenths % 10)"
        }
        return count(Int(value.rounded()))
    }

    /// A count with grouped thousands: "12,345".
    public static func count(_ value: Int) -> String {
        let digits = Array(String(value.magnitude))
        var out = value < 0 ? "-" : ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    /// A count in at most 6 columns, grouped like `count` below 100,000 so that the same number never appears
    /// in two formats on one screen: "999", "8,831", "99,999", "123.4k", "4.5M".
    public static func compact(_ value: Int) -> String {
        if value < 100_000 { return count(value) }
        if value < 1_000_000 { return "\(value / 1_000).\(value / 100 % 10)k" }
        return "\(value / 1_000_000).\(value / 100_000 % 10)M"
    }

    static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
