import Primitives

/// Fault controls for the dashboard, the simulator and tests: take a replica down, slow it, damage its
/// file, restore it. Restoring replays the missing operations from the in-memory operation log, or makes
/// a full copy of a healthy replica first when the replica is damaged or too far behind.
extension MessageQueueService {
    /// Takes a replica down (it misses operations) or brings it back (same as `restoreReplica`).
    /// Returns the repair made when bringing it back, if any (also recorded durably).
    @discardableResult
    public func setReplica(_ id: ReplicaID, down: Bool) async throws(MessageQueueError) -> ReplicaRepair? {
        let replica = try self.replica(id)
        if down {
            if replica.health.isLive { replica.setHealth(.down) }
            return nil
        }
        return try await restoreReplica(id)
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
        record(ReplicaRepair(
            at: clock.now(), replica: id,
            found: detected ? "damaged on purpose; SQLite's checks caught it" : "damaged on purpose; SQLite's checks missed it",
            action: detected ? "marked corrupted until restored" : "taken down; restoring rebuilds it"))
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
            if !sound {
                replica.setHealth(.corrupted)
                record(ReplicaRepair(at: clock.now(), replica: replica.id, found: "damaged on disk (SQLite's checks failed)",
                                     action: "marked corrupted until restored"))
            }
            verdicts[replica.id] = sound
        }
        return verdicts
    }

    /// Brings a replica back: a damaged or far-behind replica first gets a full copy of the most advanced
    /// live replica, then the missing operations are replayed in chunks (its health says how far behind it
    /// is), and the last few are queued in order before it goes live again.
    /// Returns the repair made (also recorded durably), or nil when the replica was live already.
    @discardableResult
    public func restoreReplica(_ id: ReplicaID) async throws(MessageQueueError) -> ReplicaRepair? {
        let replica = try self.replica(id)
        switch replica.health {
        case .up, .catchingUp: return nil
        case .slow:
            replica.setHealth(.up)
            return nil
        case .down, .corrupted: break
        }
        let wasHealth = replica.health
        let behind = max(0, dispatchedSequence - replica.appliedSequence)
        replica.setHealth(.catchingUp(behind: behind))
        do {
            let sound = try await replica.perform { replica in
                !replica.forceRebuild && ((try? replica.store?.quickCheck()) ?? false) == true
            }
            var copiedFrom: (ReplicaID, Int64)?
            if !sound { copiedFrom = try await fullCopy(into: replica) }
            let startedAt = replica.appliedSequence
            while true {
                let applied = replica.appliedSequence
                guard let missing = operations(after: applied),
                      dispatchedSequence - applied <= Int64(limits.catchUpOperationLimit) else {
                    copiedFrom = try await fullCopy(into: replica)
                    continue
                }
                if missing.count <= limits.catchUpChunkOperations {
                    replica.enqueue(missing) { _ in }
                    replica.setHealth(.up)
                    let found = sound ? "\(wasHealth.label), \(behind) operation(s) behind"
                                      : "\(wasHealth.label), its file failing SQLite's checks or damaged on purpose"
                    let repair: ReplicaRepair
                    if let (source, copied) = copiedFrom {
                        repair = ReplicaRepair(at: clock.now(), replica: id, found: found, action: "rebuilt by a full copy",
                                               source: source, operations: copied + Int64(missing.count))
                    } else {
                        repair = ReplicaRepair(at: clock.now(), replica: id, found: found,
                                               action: "caught up from the queue's log",
                                               operations: replica.appliedSequence - startedAt + Int64(missing.count))
                    }
                    record(repair)
                    return repair
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

    /// Replaces the replica's file by a copy of the most advanced live replica's; returns that replica and the
    /// sequence the copy holds.
    private func fullCopy(into replica: Replica) async throws -> (ReplicaID, Int64) {
        let sources = replicas.filter { $0 !== replica && $0.health.isLive && $0.store != nil }
        guard let source = sources.max(by: { $0.appliedSequence < $1.appliedSequence }),
              let sourceStore = source.store else {
            throw MessageQueueError.noQuorum(available: sources.count, required: 1)
        }
        try await replica.perform { try $0.rebuild(from: sourceStore) }
        return (source.id, replica.appliedSequence)
    }

    /// Makes a detection or repair durable (see `ReplicaRepairLog`). Failing to record does not undo the
    /// repair: the queue is sound either way.
    func record(_ repair: ReplicaRepair) {
        repairLog.append([repair])
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
