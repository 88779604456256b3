import PostgresNIO

/// The queue's cycle as prepared statements (`PostgresPool.run`): a send and a receive each parsed once per
/// connection and planned from a kept plan, where the text of each was parsed and planned on every call
/// (measured with pgbench on one server: 1.4–1.5 ms of server CPU per cycle of 16 unprepared, 0.8–1.1
/// prepared, against 0.9–1.0 for the plain SKIP LOCKED loop unprepared). The delete is sent as text.
extension PostgresCreditQueue {
    /// Messages (ids, bodies) into `queue`, visible at `now`. An id already live there fails the statement with
    /// a unique violation, and the send is made again as `SendSkippingLive`: an insert with `ON CONFLICT` is a
    /// speculative insertion, which writes a confirmation record per row after its row and index entries: a batch
    /// of 16 in `bench pgqueue` took 338 µs of the primary's time and wrote 64 WAL records (6,890 bytes) that way,
    /// 183 µs and 48 records (5,877 bytes) this way (`pg_stat_statements`). A live id is almost never sent: a
    /// retry after an unclear commit; recovery's re-send of a claim whose message a worker took meanwhile.
    struct Send: PostgresPreparedStatement {
        static let name = "hb_queue_send"
        static let sql = """
            INSERT INTO queue_message (queue, id, body, visible_at, sent_at)
            SELECT $1, m.id, m.body, $2, $2 FROM unnest($3::TEXT[], $4::TEXT[]) AS m(id, body)
            """
        typealias Row = Void

        let queue: String
        let now: Int64
        let ids: [String]
        let bodies: [String]

        func makeBindings() throws -> PostgresBindings {
            try .of([queue, now, ids, bodies])
        }

        func decodeRow(_ row: PostgresRow) throws {}
    }

    /// `Send` where an id already live in `queue` (or named twice) is left as it is.
    struct SendSkippingLive: PostgresPreparedStatement {
        static let name = "hb_queue_send_skipping_live"
        static let sql = Send.sql + "\nON CONFLICT (queue, id) DO NOTHING"
        typealias Row = Void

        let send: Send

        func makeBindings() throws -> PostgresBindings { try send.makeBindings() }

        func decodeRow(_ row: PostgresRow) throws {}
    }

    /// Up to `limit` messages of `queue` visible at `now`, hidden until `hiddenUntil` with a new receipt each;
    /// those received `maxReceiveCount` times already go to `deadLetter` instead. The rows are locked with
    /// `FOR UPDATE SKIP LOCKED` and written by their row address (`ctid`), which the lock keeps: a scan of the
    /// primary key per message less. A row changed by another receive after this statement's snapshot is
    /// locked at its new version, which that snapshot cannot see: it is left as it is, for a later receive.
    struct Receive: PostgresPreparedStatement {
        static let name = "hb_queue_receive"
        static let sql = """
            WITH picked AS (
                SELECT ctid, receive_count FROM queue_message
                WHERE queue = $1 AND visible_at <= $2 AND hidden_until <= $2
                ORDER BY visible_at LIMIT $3 FOR UPDATE SKIP LOCKED
            ), dead AS (
                DELETE FROM queue_message m USING picked
                WHERE m.ctid = picked.ctid AND picked.receive_count >= $4
                RETURNING m.id, m.body, m.receive_count, m.sent_at
            ), buried AS (
                INSERT INTO queue_message (queue, id, body, visible_at, receive_count, sent_at)
                SELECT $5, id, body, $2, receive_count, sent_at FROM dead
                ON CONFLICT (queue, id) DO NOTHING
            )
            UPDATE queue_message m SET hidden_until = $6, receive_count = m.receive_count + 1,
                receipt = (random() * 9.0e18)::BIGINT
            FROM picked
            WHERE m.ctid = picked.ctid AND picked.receive_count < $4
            RETURNING m.id, m.body, m.receive_count, m.receipt
            """
        typealias Row = (String, String, Int64, Int64)

        let queue: String
        let now: Int64
        let limit: Int64
        let maxReceiveCount: Int64
        let deadLetter: String
        let hiddenUntil: Int64

        func makeBindings() throws -> PostgresBindings {
            try .of([queue, now, limit, maxReceiveCount, deadLetter, hiddenUntil])
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// The messages of `queue` whose (id, receipt) pairs are current, deleted. Sent as text, not prepared (see
    /// `PostgresCreditQueue.delete`), so it has no statement name. The ids go to the primary key as
    /// an array (an index scan of the rows named); each row found is deleted only if one of its pairs is its
    /// current receipt. Written as a join on the pairs, the planner chose a hash join over a scan of the whole
    /// table, dead rows and all.
    struct Delete {
        static let sql = """
            DELETE FROM queue_message m
            WHERE m.queue = $1 AND m.id = ANY($2::TEXT[])
              AND EXISTS (SELECT 1 FROM unnest($2::TEXT[], $3::BIGINT[]) AS r(id, token)
                          WHERE r.id = m.id AND r.token = m.receipt)
            RETURNING m.id, m.receipt
            """
        typealias Row = (String, Int64)

        let queue: String
        let ids: [String]
        let tokens: [Int64]

        func makeBindings() throws -> PostgresBindings {
            try .of([queue, ids, tokens])
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }
}

extension PostgresBindings {
    /// Bindings of `values`, in order (`$1`, `$2`, …).
    static func of(_ values: [any PostgresEncodable]) throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values { try bindings.append(value) }
        return bindings
    }
}
