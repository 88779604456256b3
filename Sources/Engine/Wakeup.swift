import Primitives
import Synchronization

/// Lets a sleeping service loop be woken early by something due before the time it sleeps until (a new packet
/// that expires sooner than the one the expiry timer waits for).
///
/// A loop calls `lookingForNext()` just before it reads what is due next, then `wait(until:…)` with that time.
/// A `signal(due:)` in between always wakes the next wait: what it signals may have come after the read. One
/// after the wait has begun wakes it only if it is due sooner; later ones are found by the next pass anyway.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        /// What the current wait sleeps until (`Timestamp.never` for nothing due); nil while the loop looks.
        var waitsUntil: Timestamp?
    }

    private let state = Mutex(State())

    /// Wakes the current or next `wait`, whatever it waits until.
    func signal() {
        wake { _ in true }
    }

    /// Wakes the current or next `wait` if `due` comes before the time it waits until, or if the loop is
    /// looking for that time now.
    func signal(due: Timestamp) {
        wake { state in state.waitsUntil.map { due < $0 } ?? true }
    }

    /// Wakes the parked waiter, or leaves a signal for the next `wait`, when `applies` says so (under the lock).
    private func wake(when applies: (State) -> Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard applies(state) else { return nil }
            defer { state.waiter = nil }
            if state.waiter == nil { state.pending = true }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Called just before the loop reads what is due next: until its `wait`, every `signal(due:)` wakes it.
    func lookingForNext() {
        state.withLock { $0.waitsUntil = nil }
    }

    /// Returns at `until` (after `timeout`), on a signal, or on cancellation, whichever comes first.
    func wait(until: Timestamp = .never, timeout: Duration, clock: any WallClock) async {
        state.withLock { $0.waitsUntil = until }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(for: timeout) }
            group.addTask { await self.waitForSignal() }
            await group.next()
            group.cancelAll()
            self.signalWaiterIfAny()
        }
    }

    private func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.signalWaiterIfAny()
        }
    }

    /// Whether a `wait` is parked for a signal (after the loop has read what is due next and taken any signal
    /// left for it): from then on only something due sooner wakes it.
    var isParked: Bool {
        state.withLock { $0.waiter != nil }
    }

    /// Releases a parked waiter without leaving a pending signal behind.
    private func signalWaiterIfAny() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}

extension Timestamp {
    /// Later than any time a packet expires: what a timer with nothing due waits until.
    static let never = Timestamp(millisecondsSinceEpoch: .max)
}
