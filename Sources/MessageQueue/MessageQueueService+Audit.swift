import Primitives

/// The queue's invariants: replicas that are up agree on every acknowledged operation, and no id is both a
/// half message and a message of the same queue.
extension MessageQueueService {
    /// Waits for every replica to apply what it was sent, then reads each live replica's tables back and
    /// compares them with the state this process acknowledged: the last sequence, the queues, every
    /// message (id, body, times, receive count, origin, order) and every half message (id, body, times,
    /// check-backs, delay, order). Also checks that no half message shares its id with a message of its
    /// queue. Returns one line per disagreement.
    ///
    /// Meant for a quiet queue (`hongbao audit`, the end of a simulation): under load a replica may
    /// legitimately be a group commit behind the in-memory state while this runs.
    public func replicaDisagreements() async -> [String] {
        settle()
        let limits = self.limits
        let expected = state
        var problems = MessageQueueService.halfMessageConflicts(expected)
        for replica in replicas where replica.health.isLive {
            let name = replica.id.directoryName
            guard let store = replica.store else {
                problems.append("\(name) is \(replica.health.label) but has no open database")
                continue
            }
            let stored: QueueState
            do {
                stored = try await replica.perform { _ in try store.loadState(limits: limits) }
            } catch {
                problems.append("\(name) cannot be read: \(error)")
                continue
            }
            problems += MessageQueueService.differences(stored, expected, replica: name)
        }
        return problems
    }

    private static func differences(_ stored: QueueState, _ expected: QueueState, replica: String) -> [String] {
        if stored.lastSequence != expected.lastSequence {
            return ["\(replica) applied operations up to \(stored.lastSequence), the queue acknowledged \(expected.lastSequence)"]
        }
        if stored.queueNames != expected.queueNames {
            return ["\(replica) holds queues \(stored.queueNames), the queue has \(expected.queueNames)"]
        }
        var problems: [String] = []
        for queue in expected.queueNames where stored.checkBacksMade(in: queue) != expected.checkBacksMade(in: queue) {
            let counts = (stored.checkBacksMade(in: queue), expected.checkBacksMade(in: queue))
            problems.append("\(replica) counts \(counts.0) check-backs in \(queue), the queue \(counts.1)")
        }
        for queue in expected.queueNames {
            let mine = stored.messages(in: queue), theirs = expected.messages(in: queue)
            guard mine != theirs else { continue }
            let differing = Set(mine.map(\.id)).symmetricDifference(theirs.map(\.id)).sorted().prefix(5)
            problems.append("""
                \(replica) holds \(mine.count) messages in \(queue), the queue \(theirs.count)\
                \(differing.isEmpty ? " (same ids, different fields)" : "; e.g. \(differing.joined(separator: ", "))")
                """)
        }
        for queue in expected.queueNames {
            let mine = stored.halfMessages(in: queue), theirs = expected.halfMessages(in: queue)
            guard mine != theirs else { continue }
            let differing = Set(mine.map(\.id)).symmetricDifference(theirs.map(\.id)).sorted().prefix(5)
            problems.append("""
                \(replica) holds \(mine.count) half messages in \(queue), the queue \(theirs.count)\
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
