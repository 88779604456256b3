import Synchronization

/// One worker's state, with a way to wait until it may run.
final class WorkerGate: Sendable {
    private let storage = Mutex<(state: WorkerState, waiters: [CheckedContinuation<Void, Never>])>((.running, []))

    var state: WorkerState { storage.withLock { $0.state } }

    func set(_ state: WorkerState) {
        let waiters = storage.withLock { storage -> [CheckedContinuation<Void, Never>] in
            storage.state = state
            guard state == .running else { return [] }
            defer { storage.waiters.removeAll() }
            return storage.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns `true` once the worker may run, `false` if the task was cancelled while waiting.
    func waitUntilRunning() async -> Bool {
        while !Task.isCancelled {
            let running = storage.withLock { $0.state == .running }
            if running { return true }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let resumeNow = storage.withLock { storage -> Bool in
                        if storage.state == .running { return true }
                        storage.waiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                self.wakeAll() // the loop above sees the cancellation and returns false
            }
        }
        return false
    }

    private func wakeAll() {
        let waiters = storage.withLock { storage -> [CheckedContinuation<Void, Never>] in
            defer { storage.waiters.removeAll() }
            return storage.waiters
        }
        waiters.forEach { $0.resume() }
    }
}
