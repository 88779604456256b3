import Synchronization

/// Sends one group of operations to the live replicas and resumes once `quorum` of them committed it
/// (true), or once so many failed that the quorum cannot be reached (false). Replicas that finish later
/// still finish: their commits are never abandoned half-way.
enum QuorumWrite {
    private struct Tally {
        var succeeded = 0
        var failed = 0
        var resumed = false
    }

    static func commit(_ operations: [QueueOperation], to replicas: [Replica], quorum: Int) async -> Bool {
        guard replicas.count >= quorum else { return false }
        let tally = Mutex(Tally())
        let total = replicas.count
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let box = ContinuationBox(continuation)
            for replica in replicas {
                replica.enqueue(operations) { result in
                    let outcome: Bool? = tally.withLock { tally in
                        if case .success = result { tally.succeeded += 1 } else { tally.failed += 1 }
                        guard !tally.resumed else { return nil }
                        if tally.succeeded >= quorum { tally.resumed = true; return true }
                        if total - tally.failed < quorum { tally.resumed = true; return false }
                        return nil
                    }
                    if let outcome { box.resume(outcome) }
                }
            }
        }
    }
}

/// Lets the completion handlers (which run on the replicas' queues) share the one continuation.
private final class ContinuationBox: Sendable {
    private let continuation: CheckedContinuation<Bool, Never>
    init(_ continuation: CheckedContinuation<Bool, Never>) { self.continuation = continuation }
    func resume(_ value: Bool) { continuation.resume(returning: value) }
}
