import Primitives

/// A min-heap of (visibility deadline, arrival order) keys naming messages. Entries are not removed when a
/// message changes: `QueueRecord` checks each popped entry against the message and skips stale ones.
struct MessageHeap: Sendable {
    struct Entry: Sendable {
        var visibleAt: Timestamp
        var order: Int64
        var messageID: String

        func precedes(_ other: Entry) -> Bool {
            visibleAt != other.visibleAt ? visibleAt < other.visibleAt : order < other.order
        }
    }

    private(set) var entries: [Entry] = []

    var isEmpty: Bool { entries.isEmpty }
    var top: Entry? { entries.first }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func pop() -> Entry? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let result = entries.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].precedes(entries[smallest]) { smallest = left }
            if right < entries.count, entries[right].precedes(entries[smallest]) { smallest = right }
            guard smallest != parent else { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return result
    }
}
