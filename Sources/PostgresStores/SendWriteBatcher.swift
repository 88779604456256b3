import PostgresNIO
import Primitives
import RedPackets

/// The send path's writes on the red-packet store in group commits: a new packet's row (`paying`), its mark
/// as paid (`open`) and a cancel, from every send under way, go together in one statement (one round trip,
/// one commit), up to `maxBatch` at a time and one statement at a time (`concurrentBatches`). Sent one
/// transaction each, a burst of sends (the load's first moment sends every packet its opens draw from) queued on
/// the newest pages of `packet` and then on the WAL: in one sampling, 44 backends at once in the mark, 31 of
/// them waiting for a buffer's lock.
///
/// Each write is safe to run again after an unclear commit, as it was alone: the insert skips an id already
/// stored (the caller then reads the row and tells its own from another packet's), the marks change only a
/// packet still `paying`, and the mark's answer is the packet as it is.
final class SendWriteBatcher: Sendable {
    /// A new packet's row, as `createPacket` chose it.
    struct NewPacket: Sendable {
        let id: PacketID
        let draft: PacketDraft
        let createdAt: Timestamp
        let expiresAt: Timestamp
    }

    enum Write: Sendable {
        case create(NewPacket)
        case paid(PacketID)
        case cancel(PacketID)
    }

    enum Answer: Sendable {
        /// Whether the insert stored the row (false: a row with its id was there already).
        case created(Bool)
        /// The packet as the mark left it.
        case packet(Packet)
        case done
    }

    private let calls: GroupedCalls<Write, Result<Answer, any Error>>

    /// Statements under way at once. Sends come at a tenth of the opens' rate (a packet of ten shares each), so
    /// with four under way, as the open path's writes go, a statement carried 2.6 writes on average: in 12 s of
    /// `simulate` at 5,000 opens/s, 3,750–3,830 calls of `hb_send_batch`, every one a commit that the standbys
    /// confirm, on the two cores the servers share. One at a time, 6.6 writes a call and half the calls, and
    /// the opens' p99 was 54–71 ms against 68–103 ms (six runs each, alternated; opens skipped at the load's
    /// in-flight limit in none against two). A send waits for the statement under way first: it fills the
    /// load's stock of shares, not an opener's wait.
    static let concurrentBatches = 1

    init(pool: PostgresPool, maxBatch: Int) {
        calls = GroupedCalls(maxBatch: maxBatch, concurrentBatches: SendWriteBatcher.concurrentBatches,
                             profile: (pool.profile, "packets.send")) { writes in
            await SendWriteBatcher.run(writes, pool: pool)
        }
    }

    /// How many statements have committed.
    var commitCount: Int { calls.answeredCount }

    /// Writes waiting for a statement (not yet in one).
    var queued: Int { calls.queued }

    func submit(_ write: Write) async throws -> Answer {
        try await calls.submit(write).get()
    }

    /// One batch, retried as a whole after a lost connection; split in halves when the server refuses it
    /// (`bisectingRefusals`).
    private static func run(_ writes: [Write], pool: PostgresPool) async -> [Result<Answer, any Error>] {
        await bisectingRefusals(writes) { part in
            let statement = Statement(part)
            let call = PreparedCall<Statement>(statement.query)
            let rows = try await pool.retrying { try await pool.run(call, profiledAs: "packets.send") }
            return try statement.results(rows)
        } failure: { _, error in .failure(error) }
    }

    // MARK: The statement

    /// A batch's statement and how its rows answer each write. Its text is the same for every batch (`sql`,
    /// the text of a batch of nothing), so it runs prepared.
    ///
    /// The inserts, the paid marks and the cancels are three data-modifying parts of one statement (in
    /// `hb_send_batch`, which plans them by key: packet store version 11), which see one snapshot; no packet is in two of them (a send marks its packet after the insert has answered, and
    /// marks or cancels it, not both), and a second insert of an id already in the batch is not sent: it is
    /// answered `created(false)`, as it would be after the first one's commit.
    struct Statement: CallText {
        static let name = "hb_send_batch_call"
        static let sql = Statement([]).query.sql

        let writes: [Write]
        /// The positions in `writes` of the creates sent (the first of each id).
        private let sent: Set<Int>
        let query: PostgresQuery

        init(_ writes: [Write]) {
            self.writes = writes
            var created: [NewPacket] = []
            var createdIDs = Set<PacketID>()
            var sent = Set<Int>()
            var paid: [String] = []
            var cancelled: [String] = []
            for (position, write) in writes.enumerated() {
                switch write {
                case let .create(new) where createdIDs.insert(new.id).inserted:
                    sent.insert(position)
                    created.append(new)
                case .create: break
                case let .paid(id): paid.append(id.rawValue)
                case let .cancel(id): cancelled.append(id.rawValue)
                }
            }
            self.sent = sent
            let columns = PostgresPacketStore.packetColumns
            let drafts = created.map(\.draft)
            query = """
                SELECT \(unescaped: columns), part
                FROM hb_send_batch(\(created.map(\.id.rawValue))::TEXT[], \(drafts.map(\.kind.rawValue))::TEXT[],
                                   \(drafts.map(\.senderID.rawValue))::BIGINT[], \(drafts.map(\.senderName))::TEXT[],
                                   \(drafts.map { $0.recipientID != nil })::BOOLEAN[],
                                   \(drafts.map { $0.recipientID?.rawValue ?? 0 })::BIGINT[],
                                   \(drafts.map(\.total.minorUnits))::BIGINT[], \(drafts.map { Int64($0.shares) })::BIGINT[],
                                   \(drafts.map(\.greeting))::TEXT[], \(created.map(\.createdAt.millisecondsSinceEpoch))::BIGINT[],
                                   \(created.map(\.expiresAt.millisecondsSinceEpoch))::BIGINT[], \(paid)::TEXT[],
                                   \(cancelled)::TEXT[])
                """
        }

        /// Each write's own result, in order: a mark of a packet the store does not have is
        /// `PacketError.unknownPacket`.
        func results(_ rows: [PostgresRow]) throws -> [Result<Answer, any Error>] {
            var created = Set<String>()
            var packets: [String: Packet] = [:]
            for row in rows {
                // Every row is a packet's columns, then which part it comes from.
                let part = try row.makeRandomAccess()["part"].decode(String.self)
                let packet = try PostgresPacketStore.packet(from: row)
                switch part {
                case "created": created.insert(packet.id.rawValue)
                case "paid", "now": packets[packet.id.rawValue] = packet
                default:
                    throw PostgresStoreError.server("a send batch answered an unknown row (\(part))")
                }
            }
            return writes.enumerated().map { position, write -> Result<Answer, any Error> in
                switch write {
                case let .create(new):
                    return .success(.created(sent.contains(position) && created.contains(new.id.rawValue)))
                case let .paid(id):
                    guard let packet = packets[id.rawValue] else { return .failure(PacketError.unknownPacket(id.rawValue)) }
                    return .success(.packet(packet))
                case .cancel:
                    return .success(.done)
                }
            }
        }
    }
}
