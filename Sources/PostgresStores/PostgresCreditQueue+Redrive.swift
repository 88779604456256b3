import PostgresNIO

extension PostgresCreditQueue {
    /// Moves every dead-lettered message back to the queue, visible now and with its receive count back to 0, as
    /// the SQLite queue's redrive does: one statement, so a crash moves all or none. A message whose id is live
    /// in the queue again (re-sent by recovery since) leaves the dead-letter queue without a second copy: both
    /// carry the same credit. Returns how many went back. A retry after an unclear commit finds the dead-letter
    /// queue empty and returns 0.
    @discardableResult
    public func redrive() async throws -> Int {
        let now = clock.now().millisecondsSinceEpoch
        defer { announceArrivals() }
        return try await pool.retrying {
            try await pool.rows("""
                WITH moved AS (
                    DELETE FROM queue_message WHERE queue = \(deadLetterName) RETURNING id, body, sent_at
                )
                INSERT INTO queue_message (queue, id, body, visible_at, receive_count, sent_at)
                SELECT \(name), id, body, \(now), 0, sent_at FROM moved
                ON CONFLICT (queue, id) DO NOTHING
                RETURNING id
                """).count
        }
    }
}
