import Primitives
import Synchronization

/// The most recent events, newest last, bounded.
final class EventLog: Sendable {
    /// Events kept for the dashboard's log pane.
    static let capacity = 200

    private let events = Mutex<[EngineEvent]>([])
    private let clock: any WallClock

    init(clock: any WallClock) {
        self.clock = clock
    }

    func add(_ kind: EngineEvent.Kind, _ text: String) {
        let event = EngineEvent(at: clock.now(), kind: kind, text: text)
        events.withLock { events in
            events.append(event)
            if events.count > EventLog.capacity { events.removeFirst(events.count - EventLog.capacity) }
        }
    }

    var recent: [EngineEvent] { events.withLock { $0 } }
}
