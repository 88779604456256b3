import Dispatch
import HeapModule
import Synchronization

/// Runs actions at deadlines through one dispatch timer, armed for the earliest live deadline rounded up to a
/// tick. What the system clock's `schedule` uses: every credit's deadline is one, and nearly all are cancelled
/// (the credit answers first). A `DispatchQueue.asyncAfter` per deadline kept each cancelled item in dispatch's
/// timer heap until its time, then woke the timer thread and a worker thread to run nothing: two wake-ups per
/// credit. Here a cancelled action costs no wake-up of its own; it is dropped when the timer next fires for a
/// live one, and the timer fires at most once per tick.
public final class TimerQueue: Sendable {
    /// How far a deadline may be rounded up, so that the deadlines within one tick share one wake-up.
    public static let tickNanoseconds: UInt64 = 2_000_000

    /// The queue `SystemClock.schedule` uses.
    static let shared = TimerQueue(label: "hongbao.clock.timers")

    private struct Entry: Comparable {
        let due: UInt64
        let action: TimerAction

        static func < (lhs: Entry, rhs: Entry) -> Bool { lhs.due < rhs.due }
        static func == (lhs: Entry, rhs: Entry) -> Bool { lhs.due == rhs.due }
    }

    private struct State {
        /// The actions by `due`, earliest first. Cancelled actions stay until they reach the top.
        var heap = Heap<Entry>()
        /// When the timer is set to fire next (`UInt64.max`: not set).
        var armedAt = UInt64.max
        let timer: any DispatchSourceTimer
    }

    private let state: Mutex<State>
    private let wakes = Atomic<Int>(0)

    public init(label: String) {
        state = Mutex(State(timer: DispatchSource.makeTimerSource(queue: DispatchQueue(label: label))))
        state.withLock { state in
            state.timer.setEventHandler { [weak self] in self?.fire() }
            state.timer.activate()
        }
    }

    deinit {
        state.withLock { $0.timer.cancel() }
    }

    /// How many times the timer has fired (each runs every action then due).
    public var wakeUps: Int { wakes.load(ordering: .relaxed) }

    /// Runs `action` on the timer's queue once `delay` has passed (up to a tick later), unless cancelled first.
    public func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) -> any ScheduledAction {
        let scheduled = TimerAction(action)
        let (seconds, attoseconds) = max(delay, .zero).components
        let nanoseconds = UInt64(clamping: min(seconds, 1 << 32)) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
        let due = DispatchTime.now().uptimeNanoseconds &+ nanoseconds
        state.withLock { state in
            state.heap.insert(Entry(due: due, action: scheduled))
            TimerQueue.arm(&state, for: due)
        }
        return scheduled
    }

    private func fire() {
        wakes.add(1, ordering: .relaxed)
        let due = state.withLock { state -> [TimerAction] in
            state.armedAt = .max
            let now = DispatchTime.now().uptimeNanoseconds
            var due: [TimerAction] = []
            while let top = state.heap.min, top.due <= now || top.action.isCancelled {
                _ = state.heap.removeMin()
                if top.due <= now { due.append(top.action) }
            }
            if let next = state.heap.min { TimerQueue.arm(&state, for: next.due) }
            return due
        }
        for action in due { action.run() }
    }

    /// Sets the timer for `due` (rounded up to a tick) if it is not already set for that time or earlier.
    private static func arm(_ state: inout State, for due: UInt64) {
        let tick = tickNanoseconds
        let at = due > UInt64.max - tick ? due : (due + tick - 1) / tick * tick
        guard at < state.armedAt else { return }
        state.armedAt = at
        state.timer.schedule(deadline: DispatchTime(uptimeNanoseconds: at), leeway: .nanoseconds(Int(tick / 2)))
    }
}

/// One scheduled action: runs at most once, and not at all if cancelled before the timer takes it.
private final class TimerAction: ScheduledAction {
    private let action: Mutex<(@Sendable () -> Void)?>

    init(_ action: @escaping @Sendable () -> Void) {
        self.action = Mutex(action)
    }

    var isCancelled: Bool { action.withLock { $0 == nil } }

    func cancel() {
        _ = action.withLock { $0.take() }
    }

    func run() {
        action.withLock { $0.take() }?()
    }
}
