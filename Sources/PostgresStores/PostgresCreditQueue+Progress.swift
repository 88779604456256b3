import PostgresNIO
import Primitives

/// Where one queued message stands: how often it was received, when it is next visible, and whether it went to
/// the dead-letter queue.
public struct QueuedMessageProgress: Sendable, Equatable {
    public let receiveCount: Int
    public let visibleAt: Timestamp
    public let deadLettered: Bool
}

extension PostgresCreditQueue {
    /// The messages with these ids in the queue or its dead-letter queue (`hongbao packet show`'s "attempt 3,
    /// next try in 1.2 s"); ids with no message are left out.
    public func progress(of ids: [String]) async throws -> [String: QueuedMessageProgress] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await pool.retrying {
            try await pool.rows("""
                SELECT id, receive_count, GREATEST(visible_at, hidden_until), queue = \(deadLetterName) FROM queue_message
                WHERE queue IN (\(name), \(deadLetterName)) AND id = ANY(\(ids)::TEXT[])
                """)
        }
        var progress: [String: QueuedMessageProgress] = [:]
        for row in rows {
            let (id, receives, visibleAt, dead) = try row.decode((String, Int64, Int64, Bool).self)
            progress[id] = QueuedMessageProgress(receiveCount: Int(receives),
                                                 visibleAt: Timestamp(millisecondsSinceEpoch: visibleAt), deadLettered: dead)
        }
        return progress
    }
}
