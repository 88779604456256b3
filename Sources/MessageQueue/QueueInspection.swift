import Foundation
import Primitives

/// The queue as its replicas hold it on disk, read without changing anything: no catch-up, no rebuild, no
/// replica created. What `hongbao audit` and the reading commands see; repairs happen when the queue is
/// opened for work (`MessageQueueService.open`) or on `hongbao audit --repair`.
public struct QueueInspection: Sendable {
    /// One replica as found on disk.
    public struct ReplicaFinding: Sendable, Equatable {
        public let id: ReplicaID
        /// Why its database cannot be used (damaged, missing), or nil when it opened and passed SQLite's checks.
        public let damage: String?
        /// The last operation it committed (nil when damaged).
        public let lastSequence: Int64?
        /// Operations behind the most advanced sound replica.
        public let lag: Int64
    }

    public let replicas: [ReplicaFinding]
    /// The replica the next open recovers from: the most advanced sound one.
    public let source: ReplicaID
    /// The queue's state as that replica holds it.
    public let state: QueueState
    /// Disagreements the next open would not repair: sound replicas at the same sequence whose tables differ,
    /// operation logs that differ at the same sequence number.
    public let violations: [String]
    /// What the next open repairs: damaged replicas rebuilt, replicas behind caught up.
    public let pendingRepairs: [String]
    /// Every detection and repair recorded so far, oldest first.
    public let repairs: [ReplicaRepair]
}

extension MessageQueueService {
    /// Reads the replicas under `root` without writing. Nil when no replica holds a database (no queue yet).
    public static func inspect(
        root: String, limits: QueueLimits = QueueLimits(), replicaIDs: [ReplicaID] = ReplicaID.allCases
    ) throws(MessageQueueError) -> QueueInspection? {
        let files = FileManager.default
        let paths = replicaIDs.map { ($0, root + "/" + $0.directoryName + "/queue.sqlite") }
        guard paths.contains(where: { files.fileExists(atPath: $0.1) }) else { return nil }
        var opened: [(ReplicaID, Result<(ReplicaStore, Int64), ReplicaOpenFailure>)] = []
        defer { for case let (_, .success((store, _))) in opened { store.close() } }
        for (id, path) in paths {
            do {
                let store = try ReplicaStore(path: path, operationLogLimit: limits.catchUpOperationLimit, readOnly: true)
                do {
                    opened.append((id, .success((store, try store.lastSequence()))))
                } catch {
                    store.close()
                    opened.append((id, .failure(.corrupted("\(error)"))))
                }
            } catch let failure {
                if case let .garbage(reason) = failure, files.fileExists(atPath: path) {
                    throw .replicaDirectoryGarbage(path: root + "/" + id.directoryName, reason: reason)
                }
                opened.append((id, .failure(failure)))
            }
        }
        let sound = opened.compactMap { id, result -> (ReplicaID, ReplicaStore, Int64)? in
            if case let .success((store, last)) = result { return (id, store, last) }
            return nil
        }
        guard let best = sound.max(by: { $0.2 < $1.2 }) else { throw .noHealthyReplica(path: root) }
        let state: QueueState
        do { state = try best.1.loadState(limits: limits) } catch { throw .storage("\(error)") }
        var findings: [QueueInspection.ReplicaFinding] = []
        var pending: [String] = []
        var violations: [String] = []
        for (id, result) in opened {
            switch result {
            case let .success((store, last)):
                findings.append(.init(id: id, damage: nil, lastSequence: last, lag: best.2 - last))
                if last < best.2 {
                    pending.append("\(id.directoryName) is \(best.2 - last) operation(s) behind \(best.0.directoryName); "
                                   + "the next start catches it up")
                } else if id != best.0 {
                    do {
                        let stored = try store.loadState(limits: limits)
                        violations += differences(stored, state, replica: id.directoryName, reference: best.0.directoryName)
                    } catch {
                        violations.append("\(id.directoryName) cannot be read: \(error)")
                    }
                }
            case let .failure(failure):
                let reason: String
                switch failure {
                case let .corrupted(text), let .garbage(text): reason = text
                }
                findings.append(.init(id: id, damage: reason, lastSequence: nil, lag: 0))
                pending.append("\(id.directoryName) is damaged (\(reason)); the next start rebuilds it from "
                               + best.0.directoryName)
            }
        }
        violations += operationLogDisagreements(sound.map { ($0.0.directoryName, $0.1) })
        return QueueInspection(
            replicas: findings, source: best.0, state: state, violations: violations, pendingRepairs: pending,
            repairs: ReplicaRepairLog(root: root).entries())
    }
}
