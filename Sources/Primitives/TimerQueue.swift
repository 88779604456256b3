import Dispatch
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

    private struct Entry {
        let due: UInt64
        let action: TimerAction
    }

    private struct State {
        /// A binary min-heap by `due`. Cancelled actions stay until they reach the top.
        var heap: [Entry] = []
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
            TimerQueue.push(Entry(due: due, action: scheduled), into: &state.heap)
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
            while let top = state.heap.first, top.due <= now || top.action.isCancelled {
                let entry = TimerQueue.popMin(&state.heap)
                if entry.due <= now { due.append(entry.action) }
            }
            if let next = state.heap.first { TimerQueue.arm(&state, for: next.due) }
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

    private static func push(_ entry: Entry, into heap: inout [Entry]) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].due < heap[parent].due else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the entry with the earliest `due`; `heap` must not be empty.
    private static func popMin(_ heap: inout [Entry]) -> Entry {
        let top = heap[0]
        let last = heap.removeLast()
        guard !heap.isEmpty else { return top }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].due < heap[smallest].due { smallest = left }
            if right < heap.count, heap[right].due < heap[smallest].due { smallest = right }
            guard smallest != parent else { return top }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
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
