import Primitives

/// Fault controls for the dashboard, the simulator and tests: take a replica down, slow it, damage its
/// file, restore it. Restoring replays the missing operations from the in-memory operation log, or makes
/// a full copy of a healthy replica first when the replica is damaged or too far behind.
extension MessageQueueService {
    /// Takes a replica down (it misses operations) or brings it back (same as `restoreReplica`).
    public func setReplica(_ id: ReplicaID, down: Bool) async throws(MessageQueueError) {
        let replica = try self.replica(id)
        if down {
            if replica.health.isLive { replica.setHealth(.down) }
        } else {
            try await restoreReplica(id)
        }
    }

    /// Adds `latency` before each of the replica's commits (zero: back to normal).
    public func slowReplica(_ id: ReplicaID, latency: Duration) throws(MessageQueueError) {
        let replica = try self.replica(id)
        guard latency >= .zero, latency <= limits.maxReplicaLatency else {
            throw .invalidFault("latency must be between 0 and \(limits.maxReplicaLatency)")
        }
        guard replica.health.isLive else { throw .invalidFault("replica \(id) is \(replica.health.label)") }
        replica.setHealth(latency == .zero ? .up : .slow(latency: latency))
    }

    /// Overwrites bytes of the replica's database file on disk, then reopens it as a restart would. Returns
    /// whether SQLite's checks caught the damage (the replica is then `corrupted` until restored; when they
    /// did not, it is `down` and restoring rebuilds it all the same).
    @discardableResult
    public func corruptReplica(_ id: ReplicaID) async throws(MessageQueueError) -> Bool {
        let replica = try self.replica(id)
        replica.setHealth(.down)
        let random = self.random
        let detected = (try? await replica.perform { $0.damageAndCheck(random: random) }) ?? false
        replica.setHealth(detected ? .corrupted : .down)
        if !detected { replica.forceRebuild = true }
        return detected
    }

    /// Runs SQLite's checks on every live replica, reopening its file first so that no cached page hides
    /// damage done on disk. A replica that fails is `corrupted` (never served) until restored.
    /// Returns each checked replica's verdict.
    @discardableResult
    public func checkReplicas() async -> [ReplicaID: Bool] {
        var verdicts: [ReplicaID: Bool] = [:]
        for replica in replicas where replica.health.isLive {
            let sound = (try? await replica.perform { $0.reopen() }) ?? false
            if !sound { replica.setHealth(.corrupted) }
            verdicts[replica.id] = sound
        }
        return verdicts
    }

    /// Brings a replica back: a damaged or far-behind replica first gets a full copy of the most advanced
    /// live replica, then the missing operations are replayed in chunks (its health says how far behind it
    /// is), and the last few are queued in order before it goes live again.
    public func restoreReplica(_ id: ReplicaID) async throws(MessageQueueError) {
        let replica = try self.replica(id)
        switch replica.health {
        case .up, .catchingUp: return
        case .slow: return replica.setHealth(.up)
        case .down, .corrupted: break
        }
        replica.setHealth(.catchingUp(behind: max(0, dispatchedSequence - replica.appliedSequence)))
        do {
            let sound = try await replica.perform { replica in
                !replica.forceRebuild && ((try? replica.store?.quickCheck()) ?? false) == true
            }
            if !sound { try await fullCopy(into: replica) }
            while true {
                let applied = replica.appliedSequence
                guard let missing = operations(after: applied),
                      dispatchedSequence - applied <= Int64(limits.catchUpOperationLimit) else {
                    try await fullCopy(into: replica)
                    continue
                }
                if missing.count <= limits.catchUpChunkOperations {
                    replica.enqueue(missing) { _ in }
                    replica.setHealth(.up)
                    return
                }
                let chunk = Array(missing.prefix(limits.catchUpChunkOperations))
                try await replica.perform { try $0.applyNow(chunk) }
                replica.setHealth(.catchingUp(behind: max(0, dispatchedSequence - replica.appliedSequence)))
            }
        } catch let error as MessageQueueError {
            replica.setHealth(.down)
            throw error
        } catch {
            replica.markFailed(error)
            throw .storage("restoring replica \(id): \(error)")
        }
    }

    private func fullCopy(into replica: Replica) async throws {
        let sources = replicas.filter { $0 !== replica && $0.health.isLive && $0.store != nil }
        guard let source = sources.max(by: { $0.appliedSequence < $1.appliedSequence }),
              let sourceStore = source.store else {
            throw MessageQueueError.noQuorum(available: sources.count, required: 1)
        }
        try await replica.perform { try $0.rebuild(from: sourceStore) }
    }

    /// The dispatched operations after `sequence`, or nil when the in-memory log no longer reaches back.
    private func operations(after sequence: Int64) -> [QueueOperation]? {
        guard sequence < dispatchedSequence else { return [] }
        guard let first = recentOperations.first?.sequence, first <= sequence + 1 else { return nil }
        let start = Int(sequence + 1 - first)
        return recentOperations[start...].filter { $0.sequence <= dispatchedSequence }
    }

    private func replica(_ id: ReplicaID) throws(MessageQueueError) -> Replica {
        guard let replica = replicas.first(where: { $0.id == id }) else {
            throw .invalidFault("replica \(id) is not part of this queue")
        }
        return replica
    }
}
