import Primitives

/// The last invariant of DESIGN section 6: replicas that are up agree on every acknowledged operation.
extension MessageQueueService {
    /// Waits for every replica to apply what it was sent, then reads each live replica's tables back and
    /// compares them with the state this process acknowledged: the last sequence, the queues, and every
    /// message (id, body, times, receive count, origin, order). Returns one line per disagreement.
    ///
    /// Meant for a quiet queue (`hongbao audit`, the end of a simulation): under load a replica may
    /// legitimately be a group commit behind the in-memory state while this runs.
    public func replicaDisagreements() async -> [String] {
        settle()
        let limits = self.limits
        let expected = state
        var problems: [String] = []
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
        for queue in expected.queueNames {
            let mine = stored.messages(in: queue), theirs = expected.messages(in: queue)
            guard mine != theirs else { continue }
            let differing = Set(mine.map(\.id)).symmetricDifference(theirs.map(\.id)).sorted().prefix(5)
            problems.append("""
                \(replica) holds \(mine.count) messages in \(queue), the queue \(theirs.count)\
                \(differing.isEmpty ? " (same ids, different fields)" : "; e.g. \(differing.joined(separator: ", "))")
                """)
        }
        return problems
    }
}
