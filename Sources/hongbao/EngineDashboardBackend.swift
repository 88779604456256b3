import Dashboard
import Engine
import Foundation
import Ledger
import MessageQueue
import Primitives
import RedPackets
import RetryWorker
import SQSServer
import Simulation
import Synchronization
import TerminalUI

/// The dashboard's view of the real engine: every figure comes from the engine's snapshot (the ledger and
/// the queue's replicas on disk, the workers' counters), and every key press becomes an engine call.
final class EngineDashboardBackend: DashboardBackend {
    /// Opens per second the Gala load starts at when no rate is given.
    static let defaultGalaRate = 2_000
    /// The highest rate `faster` goes to.
    static let maxGalaRate = 64_000
    /// Samples of queue depth kept for the sparkline.
    static let depthHistoryLength = 240

    private let engine: Engine
    private let load: LoadGenerator
    private let users: [String]
    private let scenario: ScenarioPlayer?
    private let random: any RandomSource
    private let state = Mutex<(depths: [Int], galaRate: Int)>(([], 0))
    private let lists: DashboardLists
    /// The second engine of the side-by-side view.
    let comparison: ComparisonSlot
    /// When snapshots of each engine were taken in the last second (first engine, second engine).
    private let updates = Mutex<(primary: [Timestamp], secondary: [Timestamp])>(([], []))
    /// The SQS endpoint's traffic, when the dashboard serves one (`--sqs`).
    private let traffic: SQSTraffic?
    /// The PostgreSQL cluster's servers, shown as the replicas and faulted by their keys (`--store postgres`
    /// on a data directory with a cluster).
    private let cluster: DashboardCluster?

    init(engine: Engine, load: LoadGenerator, users: [String], scenario: ScenarioPlayer?, random: any RandomSource,
         comparison: ComparisonSlot = ComparisonSlot(settings: nil), traffic: SQSTraffic? = nil,
         cluster: DashboardCluster? = nil) {
        self.engine = engine
        self.cluster = cluster
        self.traffic = traffic
        self.load = load
        self.users = users
        self.scenario = scenario
        self.random = random
        self.lists = DashboardLists(engine: engine)
        self.comparison = comparison
    }

    // MARK: Snapshot

    func snapshot(for query: ListQuery) async -> DashboardSnapshot {
        let mirror = comparison.mirror
        async let other: EngineSnapshot? = mirror?.engine.snapshot()
        let s = await engine.snapshot()
        let answer = await lists.answer(for: query)
        let second = await other
        let primaryUpdates = countUpdate(at: s.takenAt, secondary: false)
        let credits = s.queue.queues.first { $0.name == engine.limits.credit.queueName }
        let deadLetters = s.queue.queues.first { $0.name == engine.limits.credit.queueName + "-dlq" }
        let depth = credits.map { $0.visible + $0.inFlight + $0.delayed } ?? 0
        let history = state.withLock { state -> [Int] in
            state.depths.append(depth)
            if state.depths.count > Self.depthHistoryLength { state.depths.removeFirst() }
            return state.depths
        }
        let loadCounters = load.counters
        let accountsSummary = accounts(s, answer)
        let replicas = cluster?.replicas() ?? s.queue.replicas.map(Self.replica)
        if let change = cluster?.commitsWaitChange() { engine.note(.fault, change) }
        var compared: Comparison?
        if let second {
            let secondUpdates = countUpdate(at: second.takenAt, secondary: true)
            let baseline = comparison.baseline
            compared = Comparison(
                queue: Self.half(s, since: baseline?.primary, accounts: accountsSummary, replicas: replicas, updates: primaryUpdates),
                // On PostgreSQL both engines' books are on the same servers: the second half shows them too.
                transaction: Self.half(second, since: baseline?.secondary, accounts: accounts(second, nil),
                                       replicas: cluster == nil ? second.queue.replicas.map(Self.replica) : replicas,
                                       updates: secondUpdates))
        }
        var snapshot = DashboardSnapshot(
            takenAt: s.takenAt,
            header: header(s),
            accounts: accountsSummary,
            packets: packets(s, answer),
            queue: QueueSummary(
                name: engine.limits.credit.queueName, visible: credits?.visible ?? 0, inFlight: credits?.inFlight ?? 0,
                delayed: credits?.delayed ?? 0, deadLetters: deadLetters?.total ?? 0,
                oldestAge: (credits?.total ?? 0) > 0 ? credits?.oldestAge : nil, depthHistory: history,
                replicas: replicas, writeQuorum: cluster?.writeQuorum() ?? engine.limits.queue.quorum,
                external: traffic.map { Self.external($0.snapshot()) },
                halfPending: s.queue.halfPending, checkBacks: s.queue.checkBacks, hasHalfMessages: onSQLite),
            retries: retries(s, answer),
            failures: FailureComparison(
                queue: ModeFailures(userVisibleFailures: s.metrics.failedForUserQueueMode,
                                    deferredCredits: s.metrics.queued,
                                    immediateCredits: s.metrics.opensQueueMode - s.metrics.queued),
                transaction: ModeFailures(userVisibleFailures: s.metrics.failedForUserTransactionMode,
                                          deferredCredits: 0, immediateCredits: s.metrics.opensTransactionMode)),
            faults: FaultSettings(creditFailurePercent: s.faults.failurePercent,
                                  ledgerLatencyMilliseconds: s.faults.addedLatencyMilliseconds,
                                  loadRunning: loadCounters.rate > 0, loadRatePerSecond: loadCounters.rate,
                                  creditTimeouts: s.accountService.failedDeadline,
                                  creditsRefusedBusy: s.accountService.failedOverload),
            events: s.events.map { EventLine(at: $0.at, kind: Self.eventKind($0.kind), text: $0.text) },
            scenario: scenarioStatus(),
            comparison: compared)
        if case let .failed(message) = comparison.current { snapshot.comparisonFailure = message }
        return snapshot
    }

    private func scenarioStatus() -> ScenarioStatus? {
        guard let scenario else { return nil }
        let position = scenario.position
        return ScenarioStatus(name: scenario.scenario.name, step: position.step, stepCount: position.stepCount,
                              caption: position.caption, started: position.started, paused: position.paused,
                              finished: position.finished, view: scenario.requestedView.flatMap(DashboardView.init(rawValue:)),
                              loadPercent: scenario.loadPercent)
    }

    /// Records a snapshot of one engine; returns how many were taken in the last second.
    private func countUpdate(at time: Timestamp, secondary: Bool) -> Int {
        updates.withLock { updates in
            func count(_ times: inout [Timestamp]) -> Int {
                times.append(time)
                times.removeAll { time - $0 >= .seconds(1) }
                return times.count
            }
            return secondary ? count(&updates.secondary) : count(&updates.primary)
        }
    }

    /// One half of the side-by-side view from one engine's snapshot.
    static func half(_ s: EngineSnapshot, since baseline: MetricsSnapshot?, accounts: AccountsSummary,
                     replicas: [Dashboard.ReplicaStatus], updates: Int) -> ComparisonHalf {
        let start = baseline
        let conservation: ConservationStatus
        if let slow = s.slow {
            conservation = slow.violations.isEmpty ? .ok : .violated(slow.violations.map(\.description).joined(separator: "; "))
        } else {
            conservation = .unknown
        }
        let queueMode = s.creditMode == .queue
        // The same measure in both halves: open to money in the account, every credit of the last few seconds.
        let timed = s.metrics.recentCreditCount > 0
        let p50: Duration? = timed ? .microseconds(Int64(s.metrics.recentTimeToCreditP50Microseconds)) : nil
        let p99: Duration? = timed ? .microseconds(Int64(s.metrics.recentTimeToCreditP99Microseconds)) : nil
        return ComparisonHalf(
            mode: queueMode ? .queue : .transaction, opensPerSecond: s.metrics.opensPerSecond,
            failedOpensPerSecond: s.metrics.failedOpensPerSecond,
            opens: s.metrics.opensQueueMode + s.metrics.opensTransactionMode
                - (start?.opensQueueMode ?? 0) - (start?.opensTransactionMode ?? 0),
            usersWithError: s.metrics.failedForUserQueueMode + s.metrics.failedForUserTransactionMode
                - (start?.failedForUserQueueMode ?? 0) - (start?.failedForUserTransactionMode ?? 0),
            rollbacks: s.metrics.rollbacks - (start?.rollbacks ?? 0), onItsWayCount: accounts.totalWaitingCredits,
            onItsWayAmount: accounts.totalWaitingAmount, creditP50: p50, creditP99: p99, conservation: conservation,
            updatesPerSecond: updates, replicas: replicas)
    }

    static func external(_ traffic: SQSTraffic.Snapshot) -> ExternalClients {
        ExternalClients(
            address: traffic.address, openConnections: traffic.openConnections,
            rates: traffic.requestsPerSecond.map { ExternalClients.ActionRate(action: $0.action, perSecond: $0.rate) },
            errorsPerSecond: traffic.errorsPerSecond, errors: traffic.errors, commonestError: traffic.errorCodes.first?.code)
    }

    private func header(_ s: EngineSnapshot) -> HeaderStats {
        let conservation: ConservationStatus
        if let slow = s.slow {
            conservation = slow.violations.isEmpty ? .ok : .violated(slow.violations.map(\.description).joined(separator: "; "))
        } else {
            conservation = .unknown
        }
        var caption = scenario.map { player in
            player.position.started ? player.caption : "Space starts the scenario \(player.scenario.name)"
        }
        if caption?.isEmpty == true { caption = nil }
        return HeaderStats(
            opensPerSecond: s.metrics.opensPerSecond, creditsPerSecond: s.metrics.creditsPerSecond,
            openLatencyP50: s.metrics.recentOpenCount > 0 ? .microseconds(Int64(s.metrics.openLatencyP50Microseconds)) : nil,
            openLatencyP99: s.metrics.recentOpenCount > 0 ? .microseconds(Int64(s.metrics.openLatencyP99Microseconds)) : nil,
            durability: engine.durabilityLabel,
            startedAt: s.takenAt + .milliseconds(-s.uptime.wholeMilliseconds),
            creditMode: s.creditMode == .queue ? .queue : .transaction,
            conservation: conservation, caption: caption, scenarioPaused: scenario?.isPaused ?? false)
    }

    private func accounts(_ s: EngineSnapshot, _ answer: DashboardLists.Answer?) -> AccountsSummary {
        let stats = s.slow?.packets
        let people = s.slow.map { Int($0.totals.userAccountCount) } ?? answer?.accountsPage.matching ?? 0
        return AccountsSummary(top: answer?.accounts ?? [], page: answer?.accountsPage ?? ListPage(), totalAccounts: people,
                               totalWaitingCredits: stats.map { $0.claimsWaiting + $0.claimsCrediting },
                               totalWaitingAmount: stats.map { $0.waitingAmount + $0.creditingAmount })
    }

    private func packets(_ s: EngineSnapshot, _ answer: DashboardLists.Answer?) -> PacketsSummary {
        let stats = s.slow?.packets
        // Rows read a moment ago: their time to expiry is counted from now.
        let rows = (answer?.packets ?? []).map { row in
            var row = row
            row.expiresIn = row.expiresIn.map { $0 - (s.takenAt - (answer?.takenAt ?? s.takenAt)) }
            return row
        }
        let best = stats?.latestBestLuck.map { BestLuck(recipient: $0.userName, amount: $0.amount, packet: $0.packetID) }
        return PacketsSummary(open: stats?.open, grabbed: stats?.grabbedUnopened, opened: stats?.claimsOpened,
                              expired: stats?.expired,
                              expiringSoon: s.packetsExpiringSoon, recent: rows,
                              page: answer?.packetsPage ?? ListPage(), bestLuck: best)
    }

    /// The waiting list's rows. Who is owed what comes from the packet store; how many times the workers tried
    /// and when the next try is due, from the queue's record of each message (read with the list), or from a
    /// worker's failure seen since (the newer of the two). A claim the queue has no record of shows the packet
    /// store's count and no due time.
    static func retryRows(waiting: [Claim], progress: [ClaimID: CreditProgress], recent: [RetryStats.PendingRetry],
                          at now: Timestamp) -> [RetryRow] {
        var scheduled: [ClaimID: RetryStats.PendingRetry] = [:]
        for retry in recent { scheduled[retry.claim] = retry }
        return waiting.map { claim in
            let attempt: Int, due: Timestamp?
            if let retry = scheduled[claim.id], retry.attempt >= progress[claim.id]?.attempts ?? 0 {
                (attempt, due) = (retry.attempt, retry.nextTryAt)
            } else if let queued = progress[claim.id] {
                (attempt, due) = (queued.attempts, queued.nextTryAt)
            } else {
                (attempt, due) = (claim.attempts, nil)
            }
            return RetryRow(claim: claim.id, recipient: claim.userName, amount: claim.amount, attempt: attempt,
                            dueIn: due.map { max(.zero, $0 - now) })
        }
    }

    private func retries(_ s: EngineSnapshot, _ answer: DashboardLists.Answer?) -> RetriesSummary {
        let next = Self.retryRows(waiting: answer?.waiting ?? [], progress: answer?.progress ?? [:],
                                  recent: s.retries.recentRetries, at: s.takenAt)
        let workers = s.retries.workers.enumerated().map { index, state in
            WorkerStatus(name: "w\(index + 1)", state: Self.worker(state),
                         completed: s.retries.completedByWorker.indices.contains(index) ? s.retries.completedByWorker[index] : 0)
        }
        let limits = engine.limits.credit
        let policy = RetryPolicy(base: limits.retryBase, cap: limits.retryCap, deadLetterAfter: limits.maxReceiveCount)
        return RetriesSummary(attemptHistogram: s.retries.successesByAttempt, next: next, page: answer?.waitingPage ?? ListPage(),
                              workers: workers, succeeded: s.retries.succeeded, policy: policy)
    }

    /// Whether the engine runs on SQLite (its queue has half messages; the PostgreSQL queue has none).
    private var onSQLite: Bool {
        if case .sqlite = engine.books { return true }
        return false
    }

    // MARK: Commands

    func perform(_ command: DashboardCommand) async -> Result<String, DashboardCommandError> {
        do {
            if case .postgres = engine.books {
                switch command {
                case .replica where cluster == nil, .failover where cluster == nil:
                    throw DashboardCommandError.rejected("no cluster in the data directory to fault (hongbao cluster up); the server is not this dashboard's")
                default: break
                }
            } else if case .failover = command {
                throw DashboardCommandError.rejected("failover needs the PostgreSQL cluster (--store postgres); the SQLite queue's replicas have no primary to kill")
            }
            if case let .compare(on) = command { return .success(try await compare(on)) }
            if case .setCreditMode = command, comparison.mirror != nil {
                throw DashboardCommandError.rejected("side by side: each half keeps its credit mode (c leaves the comparison)")
            }
            let text = try await run(command)
            guard let mirror = comparison.mirror, Self.mirrored(command, postgres: !onSQLite) else { return .success(text) }
            // Load and faults act on both engines at once; the load runs at the same rate on each.
            if case .gala = command {
                mirror.load.setRate(load.counters.rate)
                return .success(text + " (each engine)")
            }
            let second = EngineDashboardBackend(engine: mirror.engine, load: mirror.load, users: users, scenario: nil, random: random)
            _ = try await second.run(command)
            return .success(text + " (both engines)")
        } catch let error as DashboardCommandError {
            return .failure(error)
        } catch {
            return .failure(.rejected(UserError(error).userMessage))
        }
    }

    private func run(_ command: DashboardCommand) async throws -> String {
        switch command {
        case let .send(request):
            let packet = try await engine.send(Self.sendRequest(request))
            return "sent \(packet.total.formatted) from \(packet.senderName): packet \(packet.id)"
        case let .grabAndOpen(packet, user):
            return try await grabAndOpen(packet: packet, user: user)
        case let .gala(action):
            return gala(action)
        case let .setCreditFailureRate(percent):
            engine.setCreditFailure(percent: percent)
            return "credit failure rate \(engine.faults.settings.failurePercent)%"
        case let .setLedgerLatency(milliseconds):
            engine.setLedgerLatency(milliseconds: milliseconds)
            return "account latency +\(engine.faults.settings.addedLatencyMilliseconds) ms"
        case let .replica(name, action):
            if let cluster {
                let done = try await cluster.perform(action, server: name)
                engine.note(.fault, done)
                return done
            }
            guard let replica = ReplicaID(rawValue: name) else { throw DashboardCommandError.rejected("no replica '\(name)' (a, b or c)") }
            switch action {
            case .down: try await engine.setReplica(replica, down: true)
            case .slow: try await engine.slowReplica(replica, latency: .milliseconds(200))
            case .corrupt: try await engine.corruptReplica(replica)
            case .restore: return "replica \(name) " + (try await engine.restoreReplica(replica))
            }
            return "replica \(name) \(action.word)"
        case .failover:
            guard let cluster else { throw DashboardCommandError.rejected("no cluster in the data directory to fail over") }
            let engine = engine
            let done = try await cluster.failover { engine.note(.fault, $0) }
            engine.note(.fault, done)
            return done
        case let .workers(action):
            switch action {
            case .pause: engine.pauseWorkers()
            case .resume: engine.resumeWorkers()
            case .restart: engine.restartWorkers()
            case .crash: engine.crashWorkers()
            }
            return "workers: \(action.rawValue)"
        case let .setCreditMode(mode):
            engine.setCreditMode(mode == .queue ? .queue : .transaction)
            return "credit mode: \(mode.rawValue)"
        case .redriveDeadLetters:
            let moved = try await engine.redriveDeadLetters()
            return Engine.redriven(moved)
        case let .rewindQueue(queue, seconds):
            let rewound = try await engine.sqlite("rewind").queue.rewind(queue, window: .seconds(seconds))
            return "rewound \(queue): \(rewound) message(s) deliverable again"
        case .toggleScenarioPause:
            guard let scenario else { return "no scenario is playing" }
            let wasStarted = scenario.position.started
            scenario.togglePause()
            if !wasStarted { return "scenario started" }
            return scenario.isPaused ? "scenario paused" : "scenario resumed"
        case let .scenarioStep(step):
            guard let scenario else { return "no scenario is playing" }
            switch step {
            case .next: if !scenario.next() { return "already at the last step" }
            case .previous: if !scenario.previous() { return "already at the first step" }
            case .restart: scenario.restart()
            }
            let position = scenario.position
            return "scenario step \(position.step)/\(position.stepCount)"
        case .compare:
            return try await compare(true)
        }
    }

    /// Commands that act on both engines while the side-by-side view runs.
    /// Whether `command` acts on the second engine too while the halves are side by side. On PostgreSQL a replica
    /// fault is the cluster's, whose servers both engines use: once is both.
    static func mirrored(_ command: DashboardCommand, postgres: Bool = false) -> Bool {
        switch command {
        case .replica: return !postgres
        case .gala, .setCreditFailureRate, .setLedgerLatency, .workers, .redriveDeadLetters: return true
        case .send, .grabAndOpen, .setCreditMode, .toggleScenarioPause, .scenarioStep, .compare, .rewindQueue, .failover: return false
        }
    }

    /// Starts (or rests) the second engine; on start it takes the first engine's load and faults, and the first
    /// engine goes to queue mode so that each half shows one way.
    private func compare(_ on: Bool) async throws -> String {
        guard on else {
            comparison.deactivate()
            return "side by side off (the second engine rests)"
        }
        guard let second = try await comparison.activate() else {
            // Either another request is starting it, or the view was stopped (or closed) before it was up.
            if case .starting = comparison.current { return "the second engine is starting" }
            return "side by side off (the second engine rests)"
        }
        if engine.creditMode != .queue { engine.setCreditMode(.queue) }
        async let secondMetrics = second.engine.snapshot().metrics
        comparison.setBaseline(primary: await engine.snapshot().metrics, secondary: await secondMetrics)
        let faults = engine.faults.settings
        second.engine.setCreditFailure(percent: faults.failurePercent)
        second.engine.setLedgerLatency(milliseconds: faults.addedLatencyMilliseconds)
        second.engine.setOutage(faults.outage)
        second.load.setRate(load.counters.rate)
        return "side by side: queue mode here, transaction mode in \(comparison.settings?.dataPath ?? "the second directory")"
    }

    private func gala(_ action: GalaAction) -> String {
        let current = load.counters.rate
        let rate: Int
        switch action {
        case let .start(ratePerSecond): rate = ratePerSecond ?? state.withLock { $0.galaRate > 0 ? $0.galaRate : Self.defaultGalaRate }
        case .stop: rate = 0
        case .faster: rate = min(Self.maxGalaRate, max(current * 2, 250))
        case .slower: rate = current / 2
        }
        load.setRate(rate)
        if rate > 0 { state.withLock { $0.galaRate = rate } }
        engine.note(.info, rate > 0 ? "Gala load \(NumberText.grouped(rate)) opens/s" : "Gala load stopped")
        return rate > 0 ? "Gala load: \(NumberText.grouped(rate)) opens/s" : "Gala load stopped"
    }

    private func grabAndOpen(packet: PacketID?, user: String?) async throws -> String {
        let target: PacketID
        if let packet {
            target = packet
        } else if let newest = try engine.packets.openPackets(limit: 50).max(by: { $0.createdAt < $1.createdAt }) {
            target = newest.id
        } else {
            throw DashboardCommandError.rejected("no open packet: send one first (s / g)")
        }
        var candidates = user.map { [$0] } ?? []
        if user == nil {
            let named = DemoSeeder.namedPeople
            let start = Int(random.uniform(in: 0...Int64(named.count - 1)))
            candidates = (0..<named.count).map { named[(start + $0) % named.count] } + (0..<8).map { _ in
                users[Int(random.uniform(in: 0...Int64(users.count - 1)))]
            }
        }
        for candidate in candidates {
            do {
                try await engine.grab(target, user: candidate)
            } catch PacketError.alreadyGrabbed, PacketError.notRecipient {
                continue
            }
            let result = try await engine.open(target, user: candidate)
            let state = result.creditFailure == nil ? "credited" : "on its way (queued)"
            return "\(candidate) opened \(result.claim.amount.formatted) from \(target): \(state)"
        }
        throw DashboardCommandError.rejected("nobody left to grab packet \(target)")
    }

    // MARK: Mapping

    static func sendRequest(_ request: PacketRequest) -> SendRequest {
        let greeting = request.greeting ?? "恭喜发财，大吉大利"
        switch request.kind {
        case let .personal(recipient):
            return .personal(from: request.sender, to: recipient, amount: request.amount, greeting: greeting)
        case let .lucky(shares):
            return .group(from: request.sender, total: request.amount, shares: shares, greeting: greeting)
        case let .equal(shares):
            return .group(from: request.sender, total: request.amount, shares: shares, equal: true, greeting: greeting)
        }
    }

    static func kind(_ kind: PacketKind) -> PacketKindLabel {
        switch kind {
        case .personal: return .personal
        case .lucky: return .lucky
        case .equal: return .equal
        }
    }

    static func replica(_ status: MessageQueue.ReplicaStatus) -> Dashboard.ReplicaStatus {
        let state: ReplicaState
        switch status.health {
        case .up: state = .up
        case .down: state = .down
        case .slow: state = .slow
        case .corrupted: state = .corrupted
        case .catchingUp: state = .catchingUp
        }
        return Dashboard.ReplicaStatus(name: status.id.rawValue, state: state, lastSequence: status.appliedSequence,
                                       lag: status.lag)
    }

    static func worker(_ state: RetryWorker.WorkerState) -> Dashboard.WorkerState {
        switch state {
        case .running: return .running
        case .paused: return .paused
        case .crashed: return .crashed
        }
    }

    static func eventKind(_ kind: EngineEvent.Kind) -> EventKind {
        switch kind {
        case .send: return .send
        case .open: return .open
        case .credit: return .credit
        case .retry: return .retry
        case .failure: return .failure
        case .fault: return .fault
        case .recovery, .info: return .system
        }
    }
}
