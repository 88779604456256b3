import Primitives

/// The queue's invariants: replicas that are up agree on every acknowledged operation, and no id is both a
/// half message and a message of the same queue.
extension MessageQueueService {
    /// Waits for every replica to apply what it was sent, then reads each live replica's tables back and
    /// compares them with the state this process acknowledged: the last sequence, the queues, every
    /// message (id, body, times, receive count, origin, order) and every half message (id, body, times,
    /// check-backs, delay, order). Also checks that no half message shares its id with a message of its
    /// queue, and that the replicas' operation logs hold the same operation at every sequence number they
    /// share (a catch-up replays them). Returns one line per disagreement.
    ///
    /// The replicas are read without suspending the actor: no verb can dispatch an operation between the
    /// moment their queues drain and the moment they are read, so the acknowledged state read here is the
    /// one the replicas were sent. (Reading through each replica's queue let a worker's delete land on a
    /// replica after the expected state had been taken, and the audit reported a replica ahead.)
    ///
    /// A verb changes the state at once and sends its operations with the next group commit: while one is
    /// pending or in flight the state is ahead of every replica, which is no disagreement. The audit first
    /// waits (up to `commitWait`) for the commits to go out; it then reads without suspending, so the state it
    /// compares is one the replicas were sent.
    public func replicaDisagreements(commitWait: Duration = .seconds(10)) async -> [String] {
        let deadline = ContinuousClock.now + commitWait
        while flushing || !pending.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
        var problems: [String] = []
        if flushing || !pending.isEmpty {
            problems.append("a commit was still in flight after \(commitWait) (operations up to \(state.lastSequence))")
        }
        if let journal { return problems + (await journalDisagreements(journal)) }
        return problems + settledDisagreements()
    }

    private func settledDisagreements() -> [String] {
        settle()
        let limits = self.limits
        let expected = state
        var problems = MessageQueueService.halfMessageConflicts(expected)
        var logs: [(String, ReplicaStore)] = []
        for replica in replicas where replica.health.isLive {
            let name = replica.id.directoryName
            guard let store = replica.store else {
                problems.append("\(name) is \(replica.health.label) but has no open database")
                continue
            }
            let stored: QueueState
            do {
                stored = try store.loadState(limits: limits)
            } catch {
                problems.append("\(name) cannot be read: \(error)")
                continue
            }
            problems += MessageQueueService.differences(stored, expected, replica: name)
            logs.append((name, store))
        }
        problems += MessageQueueService.operationLogDisagreements(logs)
        return problems
    }

    /// Pairs of replicas whose operation logs hold different operations at the same sequence number.
    static func operationLogDisagreements(_ stores: [(String, ReplicaStore)]) -> [String] {
        var logs: [(String, [Int64: QueueOperation])] = []
        var problems: [String] = []
        for (name, store) in stores {
            do {
                logs.append((name, try store.operationLog()))
            } catch {
                problems.append("\(name)'s operation log cannot be read: \(error)")
            }
        }
        guard let (firstName, first) = logs.first else { return problems }
        for (name, log) in logs.dropFirst() {
            let differing = log.keys.filter { sequence in first[sequence].map { $0 != log[sequence] } ?? false }.sorted()
            guard let sequence = differing.first else { continue }
            problems.append("""
                \(name)'s operation log differs from \(firstName)'s at \(differing.count) sequence number(s), \
                first at \(sequence)
                """)
        }
        return problems
    }

    /// How `stored` (one replica's tables) differs from `expected` (`reference`: the acknowledged state, or
    /// another replica's).
    static func differences(
        _ stored: QueueState, _ expected: QueueState, replica: String, reference: String = "the queue"
    ) -> [String] {
        if stored.lastSequence != expected.lastSequence {
            let verb = reference == "the queue" ? "acknowledged" : "holds"
            return ["\(replica) applied operations up to \(stored.lastSequence), \(reference) \(verb) \(expected.lastSequence)"]
        }
        if stored.queueNames != expected.queueNames {
            return ["\(replica) holds queues \(stored.queueNames), \(reference) has \(expected.queueNames)"]
        }
        var problems: [String] = []
        for queue in expected.queueNames where stored.checkBacksMade(in: queue) != expected.checkBacksMade(in: queue) {
            let counts = (stored.checkBacksMade(in: queue), expected.checkBacksMade(in: queue))
            problems.append("\(replica) counts \(counts.0) check-backs in \(queue), \(reference) \(counts.1)")
        }
        for queue in expected.queueNames {
            let mine = stored.messages(in: queue), theirs = expected.messages(in: queue)
            guard mine != theirs else { continue }
            let differing = Set(mine.map(\.id)).symmetricDifference(theirs.map(\.id)).sorted().prefix(5)
            problems.append("""
                \(replica) holds \(mine.count) messages in \(queue), \(reference) \(theirs.count)\
                \(differing.isEmpty ? " (same ids, different fields)" : "; e.g. \(differing.joined(separator: ", "))")
                """)
        }
        for queue in expected.queueNames {
            let mine = stored.consumedMessages(in: queue), theirs = expected.consumedMessages(in: queue)
            guard mine != theirs else { continue }
            let differing = Set(mine.map(\.id)).symmetricDifference(theirs.map(\.id)).sorted().prefix(5)
            problems.append("""
                \(replica) keeps \(mine.count) deleted messages for rewinding in \(queue), \(reference) \(theirs.count)\
                \(differing.isEmpty ? " (same ids, different fields)" : "; e.g. \(differing.joined(separator: ", "))")
                """)
        }
        for queue in expected.queueNames {
            let mine = stored.halfMessages(in: queue), theirs = expected.halfMessages(in: queue)
            guard mine != theirs else { continue }
            let differing = Set(mine.map(\.id)).symmetricDifference(theirs.map(\.id)).sorted().prefix(5)
            problems.append("""
                \(replica) holds \(mine.count) half messages in \(queue), \(reference) \(theirs.count)\
                \(differing.isEmpty ? " (same ids, different fields)" : "; e.g. \(differing.joined(separator: ", "))")
                """)
        }
        return problems
    }

    /// A half message whose id is also a message of its queue: a commit was applied twice, or a send and a
    /// half message got the same id past the idempotency check.
    static func halfMessageConflicts(_ state: QueueState) -> [String] {
        var problems: [String] = []
        for queue in state.queueNames {
            let live = Set(state.messages(in: queue).map(\.id))
            for half in state.halfMessages(in: queue) where live.contains(half.id) {
                problems.append("\(queue) holds \(half.id) both as a half message and as a message")
            }
        }
        return problems
    }
}
