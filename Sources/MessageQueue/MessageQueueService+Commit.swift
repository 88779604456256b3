import Primitives

/// Group commit. The first caller to find no commit in flight leads: it sends everything pending as one
/// group (one transaction per replica) and waits for the quorum; callers arriving meanwhile queue their
/// operations and wait. When the leader's own operations are acknowledged it hands the lead to the oldest
/// waiter, so no caller serves others forever.
extension MessageQueueService {
    func commit(_ operations: [QueueOperation]) async throws(MessageQueueError) {
        guard let last = operations.last?.sequence else {
            try await awaitAcknowledgement()
            return
        }
        pending.append(contentsOf: operations)
        if lingerWake != nil, pending.count >= limits.commitLingerOperations { endLinger(lingerCount) }
        if flushing {
            let outcome = await withCheckedContinuation { continuation in
                commitWaiters.append(CommitWaiter(last: last, continuation: continuation))
            }
            switch outcome {
            case .done: return
            case let .failed(error): throw error
            case .lead: break
            }
        }
        try await lead(until: last)
    }

    /// A verb that wrote nothing answered from the state (a send whose id is already there, a receive that found
    /// nothing): the state may hold operations still on their way, which may yet fail. The answer waits for them
    /// and fails with them: before, a send repeated while the first was in flight was told "already present" at
    /// once, and lost when the first's commit failed (seen on PostgreSQL at a failover).
    private func awaitAcknowledgement() async throws(MessageQueueError) {
        let wanted = state.lastSequence
        guard acknowledgedSequence < wanted, flushing else { return }
        let outcome = await withCheckedContinuation { continuation in
            commitWaiters.append(CommitWaiter(last: wanted, continuation: continuation))
        }
        switch outcome {
        case .done: return
        case let .failed(error): throw error
        case .lead: try await lead(until: wanted)
        }
    }

    private func lead(until last: Int64) async throws(MessageQueueError) {
        flushing = true
        while acknowledgedSequence < last, !pending.isEmpty {
            await lingerForMoreOperations()
            let count = min(pending.count, limits.maxOperationsPerCommit)
            let group = Array(pending.prefix(count))
            pending.removeFirst(count)
            guard let groupLast = group.last?.sequence else { break }
            dispatchedSequence = groupLast
            remember(group)
            if let journal {
                if let error = await append(group, to: journal) {
                    await recoverFromJournal(journal, failing: error)
                    throw error
                }
                acknowledgedSequence = groupLast
                acknowledged(group)
                resumeWaiters(upTo: groupLast)
                continue
            }
            let live = replicas.filter { $0.health.isLive }
            let committed = await QuorumWrite.commit(group, to: live, quorum: quorum)
            guard committed else {
                let error = MessageQueueError.noQuorum(
                    available: replicas.count(where: { $0.health.isLive }), required: quorum)
                recoverAfterFailedCommit(error)
                throw error
            }
            acknowledgedSequence = groupLast
            acknowledged(group)
            dropReplicasTooFarBehind()
            resumeWaiters(upTo: groupLast)
        }
        flushing = false
        if !commitWaiters.isEmpty {
            flushing = true
            commitWaiters.removeFirst().continuation.resume(returning: .lead)
        }
    }

    /// Tells the callers whose operations are all acknowledged now.
    private func resumeWaiters(upTo groupLast: Int64) {
        let done = commitWaiters.filter { $0.last <= groupLast }
        commitWaiters.removeAll { $0.last <= groupLast }
        for waiter in done { waiter.continuation.resume(returning: .done) }
    }

    /// Waits up to `commitLinger` for the group to reach `commitLingerOperations` (see `QueueLimits`). Callers
    /// arriving meanwhile queue behind the leader as during a commit.
    private func lingerForMoreOperations() async {
        guard limits.commitLinger > .zero, pending.count < limits.commitLingerOperations else { return }
        guard lingerRest == 0 else {
            lingerRest -= 1
            return
        }
        let gathered = pending.count
        lingerCount &+= 1
        let wait = lingerCount
        let linger = limits.commitLinger
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lingerWake = continuation
            Task.detached { [weak self] in
                try? await Task.sleep(for: linger)
                await self?.endLinger(wait)
            }
        }
        if pending.count == gathered { lingerRest = limits.commitLingerRest }
    }

    /// Ends wait number `wait` if it is still going.
    func endLinger(_ wait: UInt64) {
        guard wait == lingerCount, let wake = lingerWake else { return }
        lingerWake = nil
        wake.resume()
    }

    /// A live replica (a slow one) that falls further behind than the operation log reaches is taken down:
    /// its backlog would otherwise grow without bound. Restoring it makes a full copy.
    private func dropReplicasTooFarBehind() {
        let limit = Int64(limits.catchUpOperationLimit)
        for replica in replicas where replica.health.isLive && dispatchedSequence - replica.appliedSequence > limit {
            replica.setHealth(.down)
        }
    }

    /// Keeps the last `catchUpOperationLimit` operations for replicas that catch up.
    private func remember(_ group: [QueueOperation]) {
        guard journal == nil else { return }  // no replica catches up from it
        recentOperations.append(contentsOf: group)
        let limit = limits.catchUpOperationLimit
        if recentOperations.count > limit + limit / 2 {
            recentOperations.removeFirst(recentOperations.count - limit)
        }
    }

    /// Counts acknowledged events and wakes receivers that may now find a message.
    private func acknowledged(_ group: [QueueOperation]) {
        let now = clock.now()
        var touched = Set<String>()
        var counts: [String: (sent: Int, received: Int, deleted: Int)] = [:]
        for operation in group {
            switch operation.kind {
            case .send, .commitHalf:
                // A committed half message enters the queue as a send does.
                counts[operation.queue, default: (0, 0, 0)].sent += 1
                touched.insert(operation.queue)
            case .lease: counts[operation.queue, default: (0, 0, 0)].received += 1
            case .delete:
                counts[operation.queue, default: (0, 0, 0)].deleted += 1
                // On a FIFO queue a delete frees its group: the group's next message may be delivered now.
                if state.attributes(of: operation.queue)?.fifo == true { touched.insert(operation.queue) }
            case .changeVisibility, .rewind: touched.insert(operation.queue)
            case .deadLetter, .redrive: touched.insert(operation.text)
            case .createQueue, .deleteQueue, .purge, .sendHalf, .rollbackHalf, .checkBack, .setAttributes: break
            }
        }
        for (queue, count) in counts {
            var rate = rates[queue] ?? Rates(
                sent: RateWindow(seconds: limits.rateWindowSeconds),
                received: RateWindow(seconds: limits.rateWindowSeconds),
                deleted: RateWindow(seconds: limits.rateWindowSeconds))
            rate.sent.record(count.sent, at: now)
            rate.received.record(count.received, at: now)
            rate.deleted.record(count.deleted, at: now)
            rates[queue] = rate
        }
        for queue in touched { pollers.wakeAll(of: queue) }
    }

    /// A group missed its quorum: its operations (and everything queued after it) were applied to memory
    /// but are not acknowledged. Fail every waiting caller, wait for the replicas to settle, and reload the
    /// state from the most advanced readable replica, so that sequence numbers are never reused.
    func recoverAfterFailedCommit(_ error: MessageQueueError) {
        failQueuedCallers(error)
        flushing = false
        for replica in replicas { replica.drain() }
        let readable = replicas.compactMap { replica -> (Replica, ReplicaStore, Int64)? in
            guard replica.health != .corrupted, let store = replica.store,
                  let last = try? store.lastSequence() else { return nil }
            return (replica, store, last)
        }
        guard let best = readable.max(by: { $0.2 < $1.2 }),
              let reloaded = try? best.1.loadState(limits: limits) else { return }
        replaceState(with: reloaded)
        recentOperations.removeAll { $0.sequence > reloaded.lastSequence }
        let logStart = recentOperations.first?.sequence ?? (reloaded.lastSequence + 1)
        for (replica, _, last) in readable where last < reloaded.lastSequence && replica.health.isLive {
            if logStart > last + 1 {
                replica.setHealth(.down)
            } else {
                replica.enqueue(recentOperations.filter { $0.sequence > last }) { _ in }
            }
        }
    }
}

extension MessageQueueService {
    /// Fails every operation not yet acknowledged and every caller waiting for one.
    func failQueuedCallers(_ error: MessageQueueError) {
        pending.removeAll()
        let waiters = commitWaiters
        commitWaiters.removeAll()
        for waiter in waiters { waiter.continuation.resume(returning: .failed(error)) }
    }

    /// Takes the state as the store holds it (after a failed commit), keeping the in-memory event totals; all of
    /// it is acknowledged.
    func replaceState(with reloaded: QueueState) {
        let totals = state
        state = reloaded
        state.carryTotals(from: totals)
        acknowledgedSequence = reloaded.lastSequence
        dispatchedSequence = reloaded.lastSequence
    }
}

extension QueueState {
    /// Keeps the per-queue event totals of `other` (they live in memory only).
    mutating func carryTotals(from other: QueueState) {
        for name in queueNames {
            if let totals = other.queues[name]?.totals { setTotals(totals, of: name) }
        }
    }
}
