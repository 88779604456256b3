import Foundation
import Primitives

/// Opening the queue: check the replica directories, open each replica (SQLite's quick check runs on
/// every open), recover the state from the most advanced healthy replica, and bring the others up to
/// date from its operation log, or by a full copy when the log no longer reaches back or the replica is
/// damaged. This is also what happens after `kill -9`.
extension MessageQueueService {
    /// Opens (creating on first use) the queue whose replicas live under `root`.
    /// - Parameters:
    ///   - replicaIDs: which replicas to keep (all three normally; one for the single-copy benchmark).
    ///   - quorum: commits needed for an acknowledgement (default `limits.quorum`); more than the replicas
    ///     kept, like any other inconsistent limit, is `invalidLimits`.
    ///   - checkBackTimer: whether registering a check-back handler starts a timer task that asks about
    ///     overdue half messages; false leaves that to calls of `runCheckBacks()` (deterministic runs).
    public static func open(
        root: String, limits: QueueLimits = QueueLimits(), clock: any WallClock = SystemClock(),
        random: any RandomSource = SystemRandomSource(), replicaIDs: [ReplicaID] = ReplicaID.allCases,
        quorum: Int? = nil, checkBackTimer: Bool = true
    ) throws(MessageQueueError) -> MessageQueueService {
        let quorum = quorum ?? limits.quorum
        var effective = limits
        effective.quorum = quorum
        do {
            try effective.validate(replicas: replicaIDs.count)
        } catch {
            throw .invalidLimits(error.reason)
        }
        let directories = try prepareDirectories(root: root, replicaIDs: replicaIDs)
        var opened: [(ReplicaID, String, ReplicaStore?, Int64)] = []
        var damage: [ReplicaID: String] = [:]
        for (id, directory) in directories {
            let path = directory + "/queue.sqlite"
            do {
                let store = try ReplicaStore(
                    path: path, operationLogLimit: limits.catchUpOperationLimit, checkpointPhase: id.checkpointPhase,
                    durability: limits.replicaDurability)
                opened.append((id, directory, store, (try? store.lastSequence()) ?? -1))
            } catch let failure {
                switch failure {
                case let .garbage(reason): throw .replicaDirectoryGarbage(path: directory, reason: reason)
                case let .corrupted(reason):
                    opened.append((id, directory, nil, -1))
                    damage[id] = reason
                }
            }
        }
        guard let best = opened.filter({ $0.2 != nil && $0.3 >= 0 }).max(by: { $0.3 < $1.3 }),
              let bestStore = best.2 else { throw .noHealthyReplica(path: root) }
        let state: QueueState
        do { state = try bestStore.loadState(limits: limits) } catch { throw .storage("\(error)") }
        var replicas: [Replica] = []
        var repairs: [ReplicaRepair] = []
        let now = clock.now()
        for (id, directory, store, last) in opened {
            let replica = Replica(
                id: id, directory: directory, operationLogLimit: limits.catchUpOperationLimit, store: store,
                appliedSequence: max(0, last), health: .up, durability: limits.replicaDurability)
            if id != best.0 {
                let found = damage[id].map { "damaged (\($0))" } ?? "\(best.3 - last) operation(s) behind"
                if let repair = try bringUpToDate(replica, from: (best.0, bestStore), last: last, limits: limits,
                                                  found: found, now: now) {
                    repairs.append(repair)
                }
            }
            replicas.append(replica)
        }
        ReplicaRepairLog(root: root).append(repairs)
        return MessageQueueService(
            rootPath: root, limits: limits, clock: clock, random: random, replicas: replicas,
            quorum: quorum, state: state, runsCheckBackTimer: checkBackTimer, repairsAtOpen: repairs)
    }

    /// Catches `replica` up from the source's operation log, or rebuilds it by a full copy when it is damaged
    /// or the log no longer reaches back. Returns what was done, or nil when it was already up to date.
    private static func bringUpToDate(
        _ replica: Replica, from source: (id: ReplicaID, store: ReplicaStore), last: Int64, limits: QueueLimits,
        found: String, now: Timestamp
    ) throws(MessageQueueError) -> ReplicaRepair? {
        do {
            var applied = last
            while replica.store != nil, applied >= 0,
                  let operations = try source.store.operations(after: applied, limit: limits.catchUpChunkOperations),
                  let newest = operations.last?.sequence {
                try replica.applyNow(operations)
                applied = newest
            }
            let sourceLast = try source.store.lastSequence()
            if replica.store == nil || applied < 0 || sourceLast != applied {
                try replica.rebuild(from: source.store)
                return ReplicaRepair(at: now, replica: replica.id, found: found, action: "rebuilt by a full copy",
                                     source: source.id, operations: sourceLast)
            }
            guard applied > last else { return nil }
            return ReplicaRepair(at: now, replica: replica.id, found: found, action: "caught up", source: source.id,
                                 operations: applied - last)
        } catch {
            throw .storage("rebuilding \(replica.id.directoryName): \(error)")
        }
    }

    /// Creates the root and replica directories on first use. A missing replica directory next to
    /// replicas that hold data, a non-directory, or an unwritable directory is an error.
    private static func prepareDirectories(
        root: String, replicaIDs: [ReplicaID]
    ) throws(MessageQueueError) -> [(ReplicaID, String)] {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: root, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw .replicaDirectoryGarbage(path: root, reason: "not a directory")
        }
        let directories = replicaIDs.map { ($0, root + "/" + $0.directoryName) }
        let existing = directories.filter { files.fileExists(atPath: $0.1 + "/queue.sqlite") }
        for (_, directory) in directories {
            if !files.fileExists(atPath: directory, isDirectory: &isDirectory) {
                guard existing.isEmpty else { throw .replicaDirectoryMissing(path: directory) }
                do {
                    try DirectoryMaker.make(directory)
                } catch {
                    throw .replicaDirectoryUnwritable(path: directory, reason: error.description)
                }
            } else if !isDirectory.boolValue {
                throw .replicaDirectoryGarbage(path: directory, reason: "not a directory")
            }
            guard access(directory, W_OK | X_OK) == 0 else {
                throw .replicaDirectoryUnwritable(path: directory, reason: String(cString: strerror(errno)))
            }
        }
        return directories
    }
}
