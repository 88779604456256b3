import Dashboard
import Primitives
import TerminalUI

/// SYNTHETIC data for `hongbao dashboard-preview`: a toy simulation that makes the dashboard move so that its
/// look can be judged before the engine is wired in. Nothing here touches a ledger, a queue or a disk; the
/// numbers are invented. To be replaced by the real engine adapter.
actor PreviewBackend: DashboardBackend {
    private let clock: any WallClock
    private let startedAt: Timestamp
    private var last: Timestamp
    private var random: SeededRandomSource
    private var accounts: [AccountRow]
    private var packets: [PacketRow] = []
    private var packetCounter = 0
    private var faults = FaultSettings(loadRatePerSecond: 500)
    private var mode: CreditMode = .queue
    private var replicas = ["a", "b", "c"].map { ReplicaStatus(name: $0, state: .up) }
    private var workers = (1...4).map { WorkerStatus(name: "w\($0)", state: .running) }
    private var visible = 0.0
    private var inFlight = 0
    private var deadLetters = 0
    private var sequence: Int64 = 0
    private var depthHistory: [Int] = []
    private var histogram = [0, 0, 0, 0, 0, 0]
    private var retried = 0
    private var failures = FailureComparison()
    private var events: [EventLine] = []
    private var opened = 0
    private var opensPerSecond = 0.0
    private var creditsPerSecond = 0.0
    private var bestLuck: BestLuck?

    init(clock: any WallClock) {
        self.clock = clock
        self.startedAt = clock.now()
        self.last = clock.now()
        self.random = SeededRandomSource(seed: 2026)
        let names = ["王小明", "李娜", "alice", "bob", "陈大文", "Zoë", "carol", "张伟", "dave", "佐藤さくら", "erin", "刘洋"]
        self.accounts = names.enumerated().map { index, name in
            AccountRow(name: name, balance: Money(minorUnits: Int64(100_000 - index * 6_173) * 100))
        }
        self.events = [EventLine(at: startedAt, kind: .system, text: "SYNTHETIC PREVIEW: invented data, not the engine")]
    }

    func snapshot() async -> DashboardSnapshot {
        let now = clock.now()
        advance(to: now)
        let waiting = Int(visible) + inFlight
        return DashboardSnapshot(
            takenAt: now,
            header: HeaderStats(
                opensPerSecond: opensPerSecond, creditsPerSecond: creditsPerSecond,
                openLatencyP50: .microseconds(900 + faults.ledgerLatencyMilliseconds * 1_000),
                openLatencyP99: .microseconds(4_200 + faults.ledgerLatencyMilliseconds * 2_500),
                durability: "group commit", startedAt: startedAt, creditMode: mode, conservation: .ok
            ),
            accounts: AccountsSummary(
                top: accounts.sorted { $0.balance > $1.balance }, totalAccounts: 10_000 + opened / 3,
                totalWaitingCredits: waiting, totalWaitingAmount: Money(minorUnits: Int64(waiting) * 512)
            ),
            packets: PacketsSummary(
                open: packets.filter { $0.state == .open }.count, grabbed: Int(opensPerSecond / 20), opened: opened,
                expired: packetCounter / 9, expiringSoon: packets.filter { ($0.expiresIn ?? .seconds(999)) < .seconds(60) }.count,
                recent: Array(packets.prefix(30)), bestLuck: bestLuck
            ),
            queue: QueueSummary(
                visible: Int(visible), inFlight: inFlight, delayed: Int(visible) / 3, deadLetters: deadLetters,
                oldestAge: visible >= 1 ? .milliseconds(Int64(visible) * 40) : nil, depthHistory: depthHistory,
                replicas: replicas
            ),
            retries: RetriesSummary(
                attemptHistogram: histogram,
                next: (0..<min(12, Int(visible))).map { index in
                    RetryRow(claim: ClaimID("p\(1_000 + index).\(index % 7)"), recipient: accounts[index % accounts.count].name,
                             amount: Money(minorUnits: Int64(137 + index * 211)), attempt: 1 + index % 5,
                             dueIn: .milliseconds(Int64(100 * (index + 1))))
                },
                workers: workers, succeeded: retried, backoff: "exp 100ms…30s"
            ),
            failures: failures,
            faults: faults,
            events: events
        )
    }

    func perform(_ command: DashboardCommand) async -> Result<String, DashboardCommandError> {
        advance(to: clock.now())
        switch command {
        case .send(let request):
            let shares: Int
            let kind: PacketKindLabel
            switch request.kind {
            case .personal: (shares, kind) = (1, .personal)
            case .lucky(let count): (shares, kind) = (count, .lucky)
            case .equal(let count): (shares, kind) = (count, .equal)
            }
            let id = addPacket(sender: request.sender, kind: kind, total: request.amount, shares: shares)
            log(.send, "\(request.sender) sent \(request.amount.formatted) in \(shares) share(s) (\(id.rawValue))")
            return .success("sent \(id.rawValue): \(request.amount.formatted) (synthetic)")
        case .grabAndOpen(let packet, let user):
            guard let index = packets.firstIndex(where: { $0.state == .open && (packet == nil || $0.id == packet) }) else {
                return .failure(.rejected("no open packet to grab"))
            }
            let amount = openShare(at: index, user: user ?? accounts[Int(random.next() % UInt64(accounts.count))].name)
            return .success("opened \(amount.formatted) from \(packets[index].id.rawValue) (synthetic)")
        case .gala(let action):
            switch action {
            case .start(let rate): faults.loadRunning = true; faults.loadRatePerSecond = rate ?? faults.loadRatePerSecond
            case .stop: faults.loadRunning = false
            case .faster: faults.loadRatePerSecond = min(100_000, faults.loadRatePerSecond * 2)
            case .slower: faults.loadRatePerSecond = max(1, faults.loadRatePerSecond / 2)
            }
            log(.system, "Gala load \(faults.loadRunning ? "running at \(faults.loadRatePerSecond)/s" : "stopped")")
        case .setCreditFailureRate(let percent):
            faults.creditFailurePercent = percent
            log(.fault, "credit failures set to \(percent)%")
        case .setLedgerLatency(let milliseconds):
            faults.ledgerLatencyMilliseconds = milliseconds
            log(.fault, "ledger latency +\(milliseconds) ms")
        case .replica(let name, let action):
            guard let index = replicas.firstIndex(where: { $0.name == name }) else { return .failure(.rejected("no replica \(name)")) }
            replicas[index].state = switch action {
            case .down: .down
            case .slow: .slow
            case .corrupt: .corrupted
            case .restore: .catchingUp
            }
            log(.fault, "replica \(name) \(action.rawValue)")
        case .workers(let action):
            for index in workers.indices {
                workers[index].state = switch action {
                case .pause: .paused
                case .resume, .restart: .running
                case .crash: .crashed
                }
            }
            log(.fault, "workers \(action.rawValue)")
        case .setCreditMode(let newMode):
            mode = newMode
            log(.system, "credit mode: \(newMode.rawValue)")
        case .toggleScenarioPause:
            return .failure(.unavailable("no scenario in the synthetic preview"))
        case .redriveDeadLetters:
            visible += Double(deadLetters)
            log(.retry, "redrove \(deadLetters) dead letters")
            deadLetters = 0
        }
        return .success(DashboardText.describe(command) + " (synthetic)")
    }

    private func addPacket(sender: String, kind: PacketKindLabel, total: Money, shares: Int) -> PacketID {
        packetCounter += 1
        let id = PacketID("p\(1_000 + packetCounter)")
        packets.insert(PacketRow(id: id, sender: sender, kind: kind, total: total, shares: shares, expiresIn: .seconds(90)), at: 0)
        if packets.count > 200 { packets.removeLast() }
        return id
    }

    private func openShare(at index: Int, user: String) -> Money {
        let left = packets[index].shares - packets[index].opened
        let share = Money(minorUnits: max(1, packets[index].total.minorUnits / Int64(max(1, left)) * Int64(50 + random.next() % 100) / 100))
        packets[index].opened += 1
        packets[index].grabbed += 1
        if packets[index].opened >= packets[index].shares { packets[index].state = .done }
        opened += 1
        if share > (bestLuck?.amount ?? .zero) { bestLuck = BestLuck(recipient: user, amount: share, packet: packets[index].id) }
        credit(user, share)
        return share
    }

    private func credit(_ user: String, _ amount: Money) {
        let fails = Int(random.next() % 100) < faults.creditFailurePercent
        if fails {
            if mode == .queue {
                visible += 1
                failures.queue.deferredCredits += 1
                if let index = accounts.firstIndex(where: { $0.name == user }) {
                    accounts[index].waitingCredits += 1
                    accounts[index].waitingAmount += amount
                }
            } else {
                failures.transaction.userVisibleFailures += 1
                if random.next() % 50 == 0 { log(.failure, "\(user): credit of \(amount.formatted) failed (transaction mode)") }
            }
        } else {
            if mode == .queue { failures.queue.immediateCredits += 1 } else { failures.transaction.immediateCredits += 1 }
            if let index = accounts.firstIndex(where: { $0.name == user }) { accounts[index].balance += amount }
        }
    }

    private func advance(to now: Timestamp) {
        let elapsedSeconds = max(0, min(2.0, (now - last).secondsDouble))
        guard elapsedSeconds > 0.05 else { return }
        last = now
        var opens = 0
        if faults.loadRunning {
            let target = Double(faults.loadRatePerSecond) * elapsedSeconds
            opens = Int(target)
            if packets.filter({ $0.state == .open }).count < 5 {
                let sender = accounts[Int(random.next() % UInt64(accounts.count))].name
                _ = addPacket(sender: sender, kind: .lucky, total: Money(yuan: 100), shares: 100)
            }
            for _ in 0..<min(opens, 400) {
                guard let index = packets.firstIndex(where: { $0.state == .open }) else { break }
                _ = openShare(at: index, user: accounts[Int(random.next() % UInt64(accounts.count))].name)
            }
            if opens > 400 { opened += opens - 400 }
        }
        let healthyWorkers = workers.filter { $0.state == .running }.count
        let drain = Double(healthyWorkers) * 40 * elapsedSeconds * Double(100 - faults.creditFailurePercent) / 100
        let drained = min(visible, drain)
        visible -= drained
        retried += Int(drained)
        histogram[min(histogram.count - 1, Int(random.next() % 6))] += Int(drained)
        if drained >= 1 { reduceWaiting(Int(drained)) }
        inFlight = healthyWorkers > 0 && visible >= 1 ? min(Int(visible), healthyWorkers * 2) : 0
        if faults.creditFailurePercent == 100 && visible > 500 && random.next() % 10 == 0 { deadLetters += 1 }
        sequence += Int64(opens)
        for index in replicas.indices {
            switch replicas[index].state {
            case .up, .slow: replicas[index].lastSequence = sequence - (replicas[index].state == .slow ? 37 : 0)
            case .catchingUp:
                replicas[index].lastSequence = min(sequence, replicas[index].lastSequence + 5_000)
                if replicas[index].lastSequence == sequence { replicas[index].state = .up }
            case .down, .corrupted: break
            }
            replicas[index].lag = sequence - replicas[index].lastSequence
        }
        for index in packets.indices {
            guard let left = packets[index].expiresIn else { continue }
            let next = left - .milliseconds(Int64(elapsedSeconds * 1_000))
            if next <= .zero { packets[index].expiresIn = nil; packets[index].state = .expired } else { packets[index].expiresIn = next }
        }
        opensPerSecond = opensPerSecond * 0.7 + Double(opens) / elapsedSeconds * 0.3
        creditsPerSecond = creditsPerSecond * 0.7 + (Double(opens) * Double(100 - faults.creditFailurePercent) / 100 + drained) / elapsedSeconds * 0.3
        depthHistory.append(Int(visible) + inFlight)
        if depthHistory.count > 600 { depthHistory.removeFirst(depthHistory.count - 600) }
        if opens > 0 && random.next() % 4 == 0 {
            let user = accounts[Int(random.next() % UInt64(accounts.count))].name
            log(.open, "\(user) opened \(Money(minorUnits: Int64(1 + random.next() % 3_000)).formatted)")
        }
        if drained >= 1 && random.next() % 3 == 0 { log(.credit, "retry workers credited \(Int(drained)) waiting claim(s)") }
        if visible >= 1 && faults.creditFailurePercent > 0 && random.next() % 5 == 0 {
            log(.retry, "credit timed out; back in queue (attempt \(2 + random.next() % 4))")
        }
    }

    private func reduceWaiting(_ count: Int) {
        var left = count
        for index in accounts.indices where left > 0 && accounts[index].waitingCredits > 0 {
            let take = min(left, accounts[index].waitingCredits)
            accounts[index].waitingCredits -= take
            accounts[index].balance += accounts[index].waitingAmount
            accounts[index].waitingAmount = accounts[index].waitingCredits == 0 ? .zero : accounts[index].waitingAmount
            left -= take
        }
    }

    private func log(_ kind: EventKind, _ text: String) {
        events.append(EventLine(at: clock.now(), kind: kind, text: text))
        if events.count > 500 { events.removeFirst(events.count - 500) }
    }
}
