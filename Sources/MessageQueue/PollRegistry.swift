import Synchronization

/// Receivers waiting (long poll) for a message. Lives outside the actor so that a cancelled waiter can be
/// resumed synchronously from its cancellation handler. Each continuation is resumed exactly once.
final class PollRegistry: Sendable {
    private struct Poller {
        let queue: String
        let continuation: CheckedContinuation<Void, Never>
        var timer: Task<Void, Never>?
    }

    private struct State {
        var pollers: [Int: Poller] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    func makeID() -> Int {
        state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
    }

    /// Registers a waiter; resumes it at once if its task is already cancelled.
    func register(_ id: Int, queue: String, continuation: CheckedContinuation<Void, Never>) {
        if Task.isCancelled { return continuation.resume() }
        state.withLock { $0.pollers[id] = Poller(queue: queue, continuation: continuation) }
    }

    /// Attaches the timer that will wake `id` at its deadline (cancelled if it wakes earlier).
    func attach(_ timer: Task<Void, Never>, to id: Int) {
        let orphan: Bool = state.withLock { state in
            guard state.pollers[id] != nil else { return true }
            state.pollers[id]?.timer = timer
            return false
        }
        if orphan { timer.cancel() }
    }

    func wake(_ id: Int) {
        let poller = state.withLock { $0.pollers.removeValue(forKey: id) }
        poller?.timer?.cancel()
        poller?.continuation.resume()
    }

    /// Wakes every waiter of `queue`; they look again.
    func wakeAll(of queue: String) {
        let woken: [Poller] = state.withLock { state in
            let ids = state.pollers.filter { $0.value.queue == queue }.map(\.key)
            return ids.compactMap { state.pollers.removeValue(forKey: $0) }
        }
        for poller in woken {
            poller.timer?.cancel()
            poller.continuation.resume()
        }
    }

    var count: Int { state.withLock { $0.pollers.count } }
}
