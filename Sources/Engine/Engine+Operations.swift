import AccountService
import Crediting
import Ledger
import MessageQueue
import PostgresStores
import Primitives
import RedPackets

extension Engine {
    /// The credit mode opens use now.
    public var creditMode: CreditMode {
        get { mode.withLock { $0 } }
    }

    public func setCreditMode(_ newMode: CreditMode) {
        mode.withLock { $0 = newMode }
        events.add(.fault, "credit mode: \(newMode.rawValue)")
    }

    /// Sends a packet and wakes the expiry timer if it expires before the one it waits for.
    public func send(_ request: SendRequest, quiet: Bool = false) async throws -> Packet {
        let packet = try await packets.send(request)
        metrics.update { $0.sends += 1 }
        expiryWakeup.signal(due: packet.expiresAt)
        if !quiet {
            events.add(.send, "\(packet.senderName) sent \(packet.total.formatted) in \(packet.shares) \(packet.kind.rawValue) share\(packet.shares == 1 ? "" : "s") (\(packet.id))")
        }
        return packet
    }

    @discardableResult
    public func grab(_ packet: PacketID, user: String) async throws -> Int {
        try await packets.grab(packet, user: user)
    }

    /// Opens a grabbed share the way the current credit mode says, and measures it.
    ///
    /// Queue mode: the opener always gets the amount; a failed credit is queued (`waiting`).
    /// Transaction mode: a failed credit rolls the whole open back and the opener gets the error.
    public func open(_ packet: PacketID, user: String, quiet: Bool = false) async throws -> OpenResult {
        try await measuredOpen(packet, user: user, quiet: quiet, started: ContinuousClock.now)
    }

    /// Grabs a share and opens it at once, as `grab` and then `open` would (the same refusals, measured as an
    /// open from the grab on). In queue mode the grab and the draw are one write of the packet store.
    public func grabAndOpen(_ packet: PacketID, user: String, quiet: Bool = false) async throws -> OpenResult {
        let started = ContinuousClock.now
        guard creditMode == .queue else {
            try await grab(packet, user: user)
            return try await measuredOpen(packet, user: user, quiet: quiet, started: started)
        }
        return try await measuredOpen(packet, user: user, quiet: quiet, started: started, grabbing: true)
    }

    /// `grabAndOpen` as a user the caller has already identified (`AccountStore.userAccountIDs(named:)`), as an
    /// authenticated session would: in queue mode no lookup by name. In transaction mode it opens by name.
    public func grabAndOpen(_ packet: PacketID, as user: Account, quiet: Bool = false) async throws -> OpenResult {
        guard creditMode == .queue else { return try await grabAndOpen(packet, user: user.name, quiet: quiet) }
        return try await measuredOpen(packet, user: user.name, quiet: quiet, started: ContinuousClock.now, grabbing: true,
                                      account: user)
    }

    /// `open` (with `grabbing`: the grab and the draw in one write, queue mode only, as `account` when given),
    /// timed from `started`.
    private func measuredOpen(_ packet: PacketID, user: String, quiet: Bool, started: ContinuousClock.Instant,
                              grabbing: Bool = false, account: Account? = nil) async throws -> OpenResult {
        let currentMode = grabbing ? .queue : creditMode
        do {
            let result: OpenResult
            switch currentMode {
            case .queue where grabbing:
                if let account {
                    result = try await packets.grabAndOpen(packet, as: account, via: creditPath.driver)
                } else {
                    result = try await packets.grabAndOpen(packet, user: user, via: creditPath.driver)
                }
            case .queue:
                result = try await packets.open(packet, user: user, via: creditPath.driver)
            case .transaction:
                let accountService = self.accountService
                result = try await packets.openAtomically(packet, user: user, credit: { order in
                    try await accountService.creditAtomically(order)
                }, notCredited: GuardedAccountService.isNotCredited)
            }
            let latency = ContinuousClock.now - started
            metrics.recordOpen(latency: latency)
            if !result.wasReplay && result.creditFailure == nil { metrics.recordInlineCredit(latency: latency) }
            if !result.wasReplay {
                metrics.update { metrics in
                    if currentMode == .queue { metrics.opensQueueMode += 1 } else { metrics.opensTransactionMode += 1 }
                    // Judged by the in-line attempt, not the claim's state now: a worker may already have
                    // landed a queued credit by the time the opener's result is read back.
                    if result.creditFailure == nil { metrics.creditedImmediately += 1 } else { metrics.queued += 1 }
                }
            }
            if !quiet {
                let state = result.creditFailure == nil ? "credited" : "on its way (queued)"
                events.add(.open, "\(user) opened \(result.claim.amount.formatted) from \(packet): \(state)")
            }
            return result
        } catch let error as CreditError {
            metrics.update { metrics in
                metrics.failedForUserTransactionMode += 1
                metrics.rollbacks += 1
            }
            if !quiet { events.add(.failure, "\(user)'s open of \(packet) rolled back: \(error)") }
            throw error
        } catch let late as LateCredit {
            // The opener is answered at the deadline; the open is undone only once its credit's write has ended
            // without landing.
            metrics.update { $0.failedForUserTransactionMode += 1 }
            finishLate(late, user: user, packet: packet, quiet: quiet)
            throw late.deadline
        } catch let error as PacketError {
            throw error // the opener's mistake (not grabbed, expired, …), not a system failure
        } catch {
            metrics.update { metrics in
                if currentMode == .queue { metrics.failedForUserQueueMode += 1 } else { metrics.failedForUserTransactionMode += 1 }
            }
            if !quiet { events.add(.failure, "\(user)'s open of \(packet) failed: \(error)") }
            throw error
        }
    }

    /// Waits, off the opener's path, for the write of a credit that missed its deadline, then keeps or undoes
    /// its open: credited if it landed, rolled back if the ledger refused it, left `crediting` for the next
    /// start's recovery when its fate is unknown. `close()` waits for these.
    private func finishLate(_ late: LateCredit, user: String, packet: PacketID, quiet: Bool) {
        // Made and recorded under the lock, so that its own removal (under the lock too) always comes after.
        lateCredits.withLock { running in
            running.next += 1
            let key = running.next
            running.tasks[key] = Task { await settleLate(late, user: user, packet: packet, quiet: quiet, key: key) }
        }
    }

    /// `finishLate`'s task: waits for the write, settles the open, and leaves the running tasks.
    private func settleLate(_ late: LateCredit, user: String, packet: PacketID, quiet: Bool, key: Int) async {
        defer { _ = lateCredits.withLock { $0.tasks.removeValue(forKey: key) } }
        let claim = late.order.claim
        let credited: CreditOutcome?
        switch await late.write.result {
        case let .success(outcome): credited = outcome
        case let .failure(error) where GuardedAccountService.isNotCredited(error): credited = nil
        case let .failure(error):
            events.add(.failure, "\(user)'s open of \(packet) missed its deadline and its credit's fate is unknown (\(error)); it stays on its way for the next start")
            return
        }
        do {
            try await packets.finishAtomicOpen(claim, credited: credited)
            if credited == nil { metrics.update { $0.rollbacks += 1 } }
            if !quiet {
                events.add(credited == nil ? .failure : .open, credited == nil
                    ? "\(user)'s open of \(packet) rolled back: \(late.deadline)"
                    : "\(user)'s open of \(packet) was credited after its deadline: it stands")
            }
        } catch {
            events.add(.failure, "\(user)'s open of \(packet): \(error); it stays on its way for the next start")
        }
    }

    // MARK: Fault injection

    public func setCreditFailure(percent: Int) {
        faults.update { $0.failurePercent = percent }
        events.add(.fault, "credit failure rate \(faults.settings.failurePercent)%")
    }

    public func setLedgerLatency(milliseconds: Int) {
        faults.update { $0.addedLatencyMilliseconds = milliseconds }
        events.add(.fault, "account latency +\(faults.settings.addedLatencyMilliseconds) ms")
    }

    public func setOutage(_ outage: Bool) {
        faults.update { $0.outage = outage }
        events.add(.fault, outage ? "account system DOWN" : "account system back up")
    }

    public func setReplica(_ replica: ReplicaID, down: Bool) async throws {
        let queue = try sqlite("a queue replica fault").queue
        let repair = try await queue.setReplica(replica, down: down)
        events.add(.fault, "replica \(replica) \(down ? "DOWN" : "up")")
        if let repair { events.add(.recovery, "repaired " + repair.summary) }
        if !down { creditPath.wakeup.signal() }
    }

    public func slowReplica(_ replica: ReplicaID, latency: Duration) async throws {
        try await sqlite("a queue replica fault").queue.slowReplica(replica, latency: latency)
        events.add(.fault, "replica \(replica) slow +\(latency.wholeMilliseconds) ms")
    }

    public func corruptReplica(_ replica: ReplicaID) async throws {
        let detected = try await sqlite("a queue replica fault").queue.corruptReplica(replica)
        events.add(.fault, "replica \(replica) CORRUPTED on disk" + (detected ? "; detected," : ";") + " out of service until rebuilt (d)")
    }

    /// Brings a replica back up; returns what that took, in words ("back up", "rebuilt from a healthy copy").
    /// The repair it made, if any, is recorded durably by the queue and added to the events.
    @discardableResult
    public func restoreReplica(_ replica: ReplicaID) async throws -> String {
        let queue = try sqlite("a queue replica fault").queue
        let before = await queue.replicaStatuses().first { $0.id == replica }?.health
        let repair = try await queue.restoreReplica(replica)
        let what: String
        switch before {
        case .corrupted?: what = "rebuilt from a healthy copy and back up"
        case .slow?: what = "back to normal speed"
        case .up?: what = "already up"
        default: what = "back up"
        }
        events.add(.fault, "replica \(replica) \(what)")
        if let repair { events.add(.recovery, "repaired " + repair.summary) }
        creditPath.wakeup.signal()
        return what
    }

    public func pauseWorkers(_ index: Int? = nil) {
        workers.pause(index)
        events.add(.fault, "retry workers paused")
    }

    public func crashWorkers(_ index: Int? = nil) {
        workers.crash(index)
        events.add(.fault, "retry workers CRASHED: their messages come back after the visibility timeout")
    }

    /// Resumes paused workers (the same as a restart for the pool, but said as what the operator did).
    public func resumeWorkers(_ index: Int? = nil) {
        workers.restart(index)
        events.add(.fault, "retry workers resumed")
    }

    public func restartWorkers(_ index: Int? = nil) {
        workers.restart(index)
        events.add(.fault, "retry workers restarted")
    }

    /// One pass of re-queueing: re-sends the credits that found no quorum when they failed. `run()` does
    /// this on its own; the deterministic simulation calls it step by step. Returns how many are still unsent.
    @discardableResult
    public func requeueUnqueuedCredits() async -> Int {
        await creditPath.retryUnqueuedOnce()
    }

    /// What a redrive of `moved` dead-lettered credits says (to the events line and the status line).
    public static func redriven(_ moved: Int) -> String {
        moved == 0 ? "no dead-lettered credit to redrive"
            : "redrove \(NumberText.grouped(moved)) dead-lettered credit\(moved == 1 ? "" : "s") to the credit queue"
    }

    /// Moves every dead-lettered credit back to the credit queue.
    @discardableResult
    public func redriveDeadLetters() async throws -> Int {
        let moved: Int
        switch books {
        case let .sqlite(books): moved = try await books.queue.redrive(deadLetterQueue: limits.credit.queueName + "-dlq")
        case let .postgres(books): moved = try await books.queue.redrive()
        }
        if moved > 0 { creditPath.wakeup.signal() }
        events.add(.retry, Engine.redriven(moved))
        return moved
    }
}

extension Engine {
    /// Opens, credits, latencies and failures so far.
    public func metricsSnapshot() -> MetricsSnapshot {
        metrics.snapshot()
    }

    /// Every invariant of DESIGN section 6 that does not hold (see `auditReport`).
    public func audit() async throws -> [AuditViolation] {
        try await auditReport().violations
    }

    /// Both systems checked alone and against each other, and the queue: the ledger's invariants, the packet
    /// store's, the settlement account against what the packets hold, one ledger credit per credited claim;
    /// every uncredited claim has a live credit message (or a dead-lettered one), or is reported as awaiting
    /// recovery (a `crediting` claim the next start re-queues); the replicas that are up agree with the
    /// acknowledged state. Run it on a quiet engine (see `replicaDisagreements`).
    public func auditReport() async throws -> AuditReport {
        // The opener does not wait for the record of its in-line credit; the audit waits for those in flight.
        await creditPath.driver.recordsSettled()
        switch books {
        case let .sqlite(books):
            var report = try await AuditReport.across(ledger: books.ledger, packets: packets,
                                                      liveMessages: try await liveCreditMessages())
            report.violations += await books.queue.replicaDisagreements().map {
                AuditViolation(code: "queue.replicas", detail: $0)
            }
            return report
        case let .postgres(books):
            return try await AuditReport.across(ledger: books.ledger, packets: packets,
                                                liveMessages: try await liveCreditMessages())
        }
    }

    /// Credits in the dead-letter queue, waiting for the operator.
    public func deadLetteredCount() async -> Int {
        switch books {
        case let .sqlite(books): (try? await books.queue.counters(of: limits.credit.queueName + "-dlq"))?.total ?? 0
        case let .postgres(books): (try? await books.queue.depth())?.deadLettered ?? 0
        }
    }

    /// The claims whose credit message is live in the credit queue or its dead-letter queue.
    func liveCreditMessages() async throws -> Set<ClaimID> {
        let queue: MessageQueueService
        switch books {
        case let .sqlite(books): queue = books.queue
        case let .postgres(books): return Set(try await books.queue.liveIDs().map(ClaimID.init))
        }
        let state = await queue.currentState()
        return Set([limits.credit.queueName, limits.credit.queueName + "-dlq"]
            .flatMap { state.messages(in: $0).map { ClaimID($0.id) } })
    }

    /// The queued credit of each given claim that has one (its worker attempts so far, the next try, whether it
    /// went to the dead-letter queue), as the queue holds it: what the dashboard's waiting list shows per claim
    /// and `packet show` prints, on either store.
    public func creditProgress(of claims: [ClaimID]) async throws -> [ClaimID: CreditProgress] {
        guard !claims.isEmpty else { return [:] }
        switch books {
        case let .sqlite(books):
            return CreditProgress.of(claims, in: await books.queue.currentState(), queueName: limits.credit.queueName)
        case let .postgres(books):
            return CreditProgress.of(try await books.queue.progress(of: claims.map(\.rawValue)))
        }
    }

    /// `waiting` claims whose credit message is in neither the credit queue nor its dead-letter queue: the
    /// queue purged it (retention), or the books and the queue disagree.
    func waitingClaimsWithoutMessage() async throws -> [Claim] {
        let waiting = try await packets.store.uncreditedClaims(in: .waiting, limit: Int.max)
        guard !waiting.isEmpty else { return [] }
        let live = try await liveCreditMessages()
        return waiting.filter { !live.contains($0.id) }
    }

    /// On start, after recovery: re-sends the credit of every `waiting` claim whose message is gone, so
    /// that a purge never strands money in escrow. Returns how many were re-queued.
    func requeueLostCredits() async throws -> Int {
        var requeued = 0
        for claim in try await waitingClaimsWithoutMessage() where await creditPath.enqueue(claim.creditOrder) {
            requeued += 1
        }
        return requeued
    }
}

extension Engine {
    /// The event log, oldest first (what the dashboard's events pane shows).
    public func recentEvents() -> [EngineEvent] {
        events.recent
    }

    /// Adds a line to the event log (scenarios, the dashboard).
    public func note(_ kind: EngineEvent.Kind, _ text: String) {
        events.add(kind, text)
    }
}

/// Where a claim's queued credit stands, as its recipient is told: "waiting (attempt N, next try in T)".
public struct CreditProgress: Sendable, Equatable {
    /// Credit attempts made by the retry workers so far (the message's receive count).
    public let attempts: Int
    /// When the message becomes visible again, i.e. the next try.
    public let nextTryAt: Timestamp
    /// True when the credit went to the dead-letter queue and waits for the operator's redrive.
    public let deadLettered: Bool

    public init(attempts: Int, nextTryAt: Timestamp, deadLettered: Bool) {
        self.attempts = attempts
        self.nextTryAt = nextTryAt
        self.deadLettered = deadLettered
    }

    /// The progress of each claim the PostgreSQL queue answered for, by message id (= claim id).
    static func of(_ messages: [String: QueuedMessageProgress]) -> [ClaimID: CreditProgress] {
        var progress: [ClaimID: CreditProgress] = [:]
        for (id, message) in messages {
            progress[ClaimID(id)] = CreditProgress(attempts: message.receiveCount, nextTryAt: message.visibleAt,
                                                   deadLettered: message.deadLettered)
        }
        return progress
    }

    /// The progress of each claim whose message the SQLite queue `state` holds, in `queueName` or its
    /// dead-letter queue.
    static func of(_ claims: [ClaimID], in state: QueueState, queueName: String) -> [ClaimID: CreditProgress] {
        var progress: [ClaimID: CreditProgress] = [:]
        for claim in claims {
            for (name, dead) in [(queueName, false), (queueName + "-dlq", true)] {
                guard let message = state.message(id: claim.rawValue, in: name) else { continue }
                progress[claim] = CreditProgress(attempts: message.receiveCount, nextTryAt: message.visibleAt,
                                                 deadLettered: dead)
            }
        }
        return progress
    }
}
