/// The queues on PostgreSQL (`PostgresQueueJournal`): the tables of a three-copy SQLite replica, without its
/// operation log (the servers' own replication makes the copies), and one function that stores a group commit.
extension PostgresSchema {
    static let journalTables = ["mq_meta", "mq_queue", "mq_message", "mq_half_message"]

    /// The queues' versions in order (step n makes version n).
    static let journalSteps = [journal]

    /// Version 1. `mq_meta` holds the last stored operation's sequence and which process stored it (its writer
    /// token): a group is stored only after the sequence it was decided on, and a process that lost its
    /// connection after sending a group reads the row to learn whether the group is in.
    static let journal = [
        "CREATE TABLE mq_meta (only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row), last_sequence BIGINT NOT NULL, writer BIGINT NOT NULL)",
        "INSERT INTO mq_meta (last_sequence, writer) VALUES (0, 0)",
        """
        CREATE TABLE mq_queue (
            name TEXT COLLATE "C" PRIMARY KEY, attributes TEXT NOT NULL, created_ms BIGINT NOT NULL,
            check_backs BIGINT NOT NULL DEFAULT 0)
        """,
        """
        CREATE TABLE mq_message (
            queue TEXT COLLATE "C" NOT NULL, id TEXT COLLATE "C" NOT NULL, body TEXT NOT NULL,
            sent_ms BIGINT NOT NULL, visible_ms BIGINT NOT NULL, receive_count BIGINT NOT NULL, origin TEXT,
            ord BIGINT NOT NULL, attrs TEXT NOT NULL DEFAULT '', first_ms BIGINT, receipt TEXT NOT NULL DEFAULT '',
            consumed_ms BIGINT, PRIMARY KEY (queue, id))
        """,
        """
        CREATE TABLE mq_half_message (
            queue TEXT COLLATE "C" NOT NULL, id TEXT COLLATE "C" NOT NULL, body TEXT NOT NULL,
            prepared_ms BIGINT NOT NULL, check_ms BIGINT NOT NULL, check_count BIGINT NOT NULL, delay_ms BIGINT,
            ord BIGINT NOT NULL, PRIMARY KEY (queue, id))
        """,
        journalApplyFunction,
    ]

    /// Stores one group: moves `mq_meta` from `p_after` to the group's last sequence (or raises HB001, storing
    /// nothing, when it is not at `p_after`), then applies each operation in order, as a replica's SQLite
    /// statements apply it (`ReplicaStore.apply`): an operation on a missing queue or message changes nothing.
    static let journalApplyFunction = """
        CREATE FUNCTION hb_mq_apply(p_after BIGINT, p_writer BIGINT, p_seq BIGINT[], p_kind INT[], p_queue TEXT[],
            p_id TEXT[], p_text TEXT[], p_time BIGINT[], p_visible BIGINT[], p_count BIGINT[], p_extra TEXT[])
        RETURNS VOID LANGUAGE plpgsql AS $$
        DECLARE
            n INT := cardinality(p_seq);
            q TEXT; m TEXT; t TEXT; tm BIGINT; v BIGINT; c BIGINT; s BIGINT;
        BEGIN
            UPDATE mq_meta SET last_sequence = p_seq[n], writer = p_writer WHERE last_sequence = p_after;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'the queue''s last operation is not %', p_after USING ERRCODE = 'HB001';
            END IF;
            FOR i IN 1..n LOOP
                q := p_queue[i]; m := p_id[i]; t := p_text[i]; tm := p_time[i]; v := p_visible[i];
                c := p_count[i]; s := p_seq[i];
                CASE p_kind[i]
                WHEN 1 THEN  -- createQueue
                    INSERT INTO mq_queue (name, attributes, created_ms) VALUES (q, t, tm) ON CONFLICT DO NOTHING;
                WHEN 2 THEN  -- deleteQueue
                    DELETE FROM mq_queue WHERE name = q;
                    DELETE FROM mq_message WHERE queue = q;
                    DELETE FROM mq_half_message WHERE queue = q;
                WHEN 3 THEN  -- send
                    INSERT INTO mq_message (queue, id, body, sent_ms, visible_ms, receive_count, origin, ord, attrs)
                    SELECT q, m, t, tm, v, 0, NULL, s, p_extra[i] WHERE EXISTS (SELECT 1 FROM mq_queue WHERE name = q)
                    ON CONFLICT DO NOTHING;
                WHEN 4 THEN  -- lease
                    UPDATE mq_message SET visible_ms = v, receive_count = c, receipt = t,
                        first_ms = CASE WHEN tm > 0 AND (c = 1 OR first_ms IS NULL) THEN tm ELSE first_ms END
                    WHERE queue = q AND id = m;
                WHEN 5 THEN  -- changeVisibility
                    UPDATE mq_message SET visible_ms = v WHERE queue = q AND id = m;
                WHEN 6 THEN  -- delete: kept for rewinding (count 1) or removed
                    IF c = 1 THEN
                        UPDATE mq_message SET consumed_ms = tm, receipt = ''
                        WHERE queue = q AND id = m AND consumed_ms IS NULL;
                    ELSE
                        DELETE FROM mq_message WHERE queue = q AND id = m AND consumed_ms IS NULL;
                    END IF;
                WHEN 7 THEN  -- purge
                    DELETE FROM mq_message WHERE queue = q AND id = m;
                WHEN 8, 9 THEN  -- deadLetter (8) keeps the receive count and the origin; redrive (9) resets them
                    INSERT INTO mq_message (queue, id, body, sent_ms, visible_ms, receive_count, origin, ord, attrs, first_ms)
                    SELECT t, id, body, sent_ms, v, CASE WHEN p_kind[i] = 8 THEN receive_count ELSE 0 END,
                        CASE WHEN p_kind[i] = 8 THEN q END, s, attrs, first_ms
                    FROM mq_message WHERE queue = q AND id = m AND EXISTS (SELECT 1 FROM mq_queue WHERE name = t)
                    ON CONFLICT DO NOTHING;
                    DELETE FROM mq_message WHERE queue = q AND id = m;
                WHEN 10 THEN  -- sendHalf
                    INSERT INTO mq_half_message (queue, id, body, prepared_ms, check_ms, check_count, delay_ms, ord)
                    SELECT q, m, t, tm, v, 0, CASE WHEN c < 0 THEN NULL ELSE c END, s
                    WHERE EXISTS (SELECT 1 FROM mq_queue WHERE name = q)
                    ON CONFLICT DO NOTHING;
                WHEN 11 THEN  -- commitHalf
                    INSERT INTO mq_message (queue, id, body, sent_ms, visible_ms, receive_count, origin, ord)
                    SELECT queue, id, body, tm, v, 0, NULL, s FROM mq_half_message WHERE queue = q AND id = m
                    ON CONFLICT DO NOTHING;
                    DELETE FROM mq_half_message WHERE queue = q AND id = m;
                WHEN 12 THEN  -- rollbackHalf
                    DELETE FROM mq_half_message WHERE queue = q AND id = m;
                WHEN 13 THEN  -- checkBack
                    UPDATE mq_queue SET check_backs = check_backs + 1
                    WHERE name = q AND EXISTS (SELECT 1 FROM mq_half_message WHERE queue = q AND id = m);
                    UPDATE mq_half_message SET check_count = c, check_ms = v WHERE queue = q AND id = m;
                WHEN 14 THEN  -- setAttributes
                    UPDATE mq_queue SET attributes = t WHERE name = q;
                WHEN 15 THEN  -- rewind
                    UPDATE mq_message SET consumed_ms = NULL, visible_ms = tm, receive_count = 0, receipt = '', first_ms = NULL
                    WHERE queue = q AND sent_ms >= v AND (consumed_ms IS NOT NULL OR receive_count > 0);
                ELSE
                    RAISE EXCEPTION 'unknown queue operation kind %', p_kind[i] USING ERRCODE = 'HB002';
                END CASE;
            END LOOP;
        END $$
        """
}
