import Dashboard
import Dispatch
import Engine
import Ledger
import Primitives
import RedPackets
import Synchronization

/// The dashboard's three long lists (accounts, packets, credits waiting for a retry), read through the ledger's
/// and the packet service's read API: only the windows the screen asks for, filtered over the whole ledger.
///
/// Reads run on their own queue, never on the cooperative pool: ranking or filtering a million accounts scans the
/// table (about 0.1 s), and `snapshot()` must never wait for that. A snapshot takes the newest answer at once;
/// a new question (a filter typed, a page scrolled) is read straight away, the same question again only after
/// `minimumInterval`, or `spacing` times the last read when that is longer, so the reads never take more than
/// a fraction of a core however large the ledger. (`hongbao bench scale` measures the reads at 1M accounts.)
final class DashboardLists: Sendable {
    /// The rows of one answer, mapped for the dashboard.
    struct Answer: Sendable {
        var query: ListQuery
        var accounts: [AccountRow]
        var accountsPage: ListPage
        var packets: [PacketRow]
        var packetsPage: ListPage
        var waiting: [Claim]
        var waitingPage: ListPage
        /// Where each waiting claim's queued credit stands (worker attempts, next try), read after the lists.
        var progress: [ClaimID: CreditProgress] = [:]
        var takenAt: Timestamp
    }

    private struct State {
        var answer: Answer?
        var reading: ListQuery?
        var lastDuration: Duration = .zero
    }

    /// The same question is asked again at most this often.
    static let minimumInterval: Duration = .milliseconds(500)
    /// …or this many times as long as the last read took.
    static let spacing = 5

    private let engine: Engine
    private let clock: any WallClock
    private let queue = DispatchQueue(label: "hongbao.dashboard.lists", qos: .userInitiated)
    private let state = Mutex(State())

    init(engine: Engine, clock: any WallClock = SystemClock()) {
        self.engine = engine
        self.clock = clock
    }

    /// The newest answer (possibly to an older question: each page says which filter it answers), and a read of
    /// `query` started in the background when it is new or the answer is old. The very first call waits for its
    /// answer, so that the first screen never says "no accounts yet" about a full ledger.
    func answer(for query: ListQuery) async -> Answer? {
        let now = clock.now()
        if state.withLock({ $0.answer == nil && $0.reading == nil }) {
            state.withLock { $0.reading = query }
            await read(query)
            return state.withLock { $0.answer }
        }
        let start = state.withLock { state -> Bool in
            guard state.reading == nil else { return false }
            if let answer = state.answer, answer.query == query,
               now - answer.takenAt < max(Self.minimumInterval, state.lastDuration * Self.spacing) {
                return false
            }
            state.reading = query
            return true
        }
        if start {
            Task { await self.read(query) }
        }
        return state.withLock { $0.answer }
    }

    /// The lists on `queue`, then (awaited, off it) where their waiting claims' credits stand in the queue.
    private func read(_ query: ListQuery) async {
        let started = ContinuousClock.now
        let (engine, now) = (engine, clock.now())
        var answer = await withCheckedContinuation { (continuation: CheckedContinuation<Answer?, Never>) in
            queue.async { continuation.resume(returning: try? Self.read(query, engine: engine, now: now)) }
        }
        if let waiting = answer?.waiting, !waiting.isEmpty {
            answer?.progress = (try? await engine.creditProgress(of: waiting.map(\.id))) ?? [:]
        }
        let took = ContinuousClock.now - started
        state.withLock { state in
            if let answer { state.answer = answer }
            state.reading = nil
            state.lastDuration = took
        }
    }

    private static func read(_ query: ListQuery, engine: Engine, now: Timestamp) throws -> Answer {
        let accountsWindow = query.accounts
        let accounts: [Account], accountCount: Int
        switch engine.books {
        case let .sqlite(books):
            accounts = try books.ledger.accounts(matching: accountsWindow.filter, order: .balanceDescending,
                                                 limit: accountsWindow.limit, offset: accountsWindow.offset)
            accountCount = try books.ledger.userAccountCount(matching: accountsWindow.filter)
        case let .postgres(books):
            accounts = try books.ledger.accountsNow(matching: accountsWindow.filter, limit: accountsWindow.limit,
                                                    offset: accountsWindow.offset)
            accountCount = try books.ledger.userAccountCountNow(matching: accountsWindow.filter)
        }
        let owed = try engine.packets.uncreditedTotals(for: accounts.map(\.id))
        let accountRows = accounts.map { account in
            AccountRow(name: account.name, balance: account.balance, waitingCredits: owed[account.id]?.count ?? 0,
                       waitingAmount: owed[account.id]?.amount ?? .zero)
        }

        let packetsWindow = query.packets
        let packets = try engine.packets.packets(matching: packetsWindow.filter, limit: packetsWindow.limit,
                                                 offset: packetsWindow.offset)
        let packetCount = try engine.packets.packetCount(matching: packetsWindow.filter)

        let retriesWindow = query.retries
        let waiting = try engine.packets.waitingClaims(matching: retriesWindow.filter, limit: retriesWindow.limit,
                                                       offset: retriesWindow.offset)
        let waitingCount = try engine.packets.waitingClaimCount(matching: retriesWindow.filter)
        return Answer(
            query: query,
            accounts: accountRows,
            accountsPage: ListPage(filter: accountsWindow.filter, offset: accountsWindow.offset, matching: accountCount),
            packets: packets.map { row($0, now: now) },
            packetsPage: ListPage(filter: packetsWindow.filter, offset: packetsWindow.offset, matching: packetCount),
            waiting: waiting,
            waitingPage: ListPage(filter: retriesWindow.filter, offset: retriesWindow.offset, matching: waitingCount),
            takenAt: now)
    }

    static func row(_ packet: Packet, now: Timestamp) -> PacketRow {
        let state: PacketStateLabel
        switch packet.state {
        case .open: state = packet.grabbed >= packet.shares ? .soldOut : .open
        case .finished: state = .done
        case .expired: state = .expired
        // Not listed: a packet being paid for, or one whose payment never happened, exists for nobody.
        case .paying, .cancelled: state = .open
        }
        return PacketRow(id: packet.id, sender: packet.senderName, kind: EngineDashboardBackend.kind(packet.kind),
                         total: packet.total, shares: packet.shares, grabbed: packet.grabbed, opened: packet.opened,
                         state: state, expiresIn: packet.state == .open ? packet.expiresAt - now : nil)
    }
}
