import Dashboard
import Synchronization

/// What the snapshot poller and the command tasks hand to the UI loop, behind one lock.
final class SharedState: Sendable {
    private struct Contents {
        var snapshot: DashboardSnapshot?
        var snapshotGeneration = 0
        var refreshMilliseconds: Int
        var finished: [DashboardEvent] = []
        var query = ListQuery()
    }

    private let contents: Mutex<Contents>

    init(refreshMilliseconds: Int) {
        contents = Mutex(Contents(refreshMilliseconds: refreshMilliseconds))
    }

    func publish(_ snapshot: DashboardSnapshot) {
        contents.withLock {
            $0.snapshot = snapshot
            $0.snapshotGeneration += 1
        }
    }

    /// The newest snapshot if it is newer than `generation`.
    func snapshot(newerThan generation: Int) -> (DashboardSnapshot, Int)? {
        contents.withLock { state in
            guard state.snapshotGeneration > generation, let snapshot = state.snapshot else { return nil }
            return (snapshot, state.snapshotGeneration)
        }
    }

    var refreshMilliseconds: Int {
        get { contents.withLock { $0.refreshMilliseconds } }
        set { contents.withLock { $0.refreshMilliseconds = newValue } }
    }

    /// The lists' windows the screen needs now (set by the UI loop, read by the snapshot poller).
    var query: ListQuery {
        get { contents.withLock { $0.query } }
        set { contents.withLock { $0.query = newValue } }
    }

    func post(_ event: DashboardEvent) {
        contents.withLock { $0.finished.append(event) }
    }

    func takeEvents() -> [DashboardEvent] {
        contents.withLock { state in
            let events = state.finished
            state.finished = []
            return events
        }
    }
}
