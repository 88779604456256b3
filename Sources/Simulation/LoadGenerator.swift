import Engine
import Ledger
import Primitives
import RedPackets
import Synchronization

/// The Gala load: group packets sent by random people and opened share by share by random people, at a
/// target rate of opens per second. Each open is a grab and an open at once through the engine
/// (`Engine.grabAndOpen`), so it takes the real credit path with whatever faults are injected.
///
/// Senders are other people than openers: the pacer keeps about `Shape.stockSeconds` of opens in stock,
/// sending packets ahead as shares are taken, so that an opener does not wait for somebody else's send (one
/// packet per `shares` opens all the same). Only when the stock runs dry does an opener send one itself.
///
/// `run()` is a service: it paces opens until cancelled; `setRate` changes the rate live (0 pauses).
public final class LoadGenerator: Sendable {
    /// The shape of the packets the load sends.
    public struct Shape: Sendable {
        public var total = Money(yuan: 100)
        public var shares = 10
        public var users: [String]
        /// The users' account ids, in the same order (`Shape.identified`): opens are then made as those accounts,
        /// as by an authenticated session, instead of looking each name up (see `Engine.grabAndOpen(_:as:)`). Users
        /// changed afterwards no longer match them, and are opened by name.
        public private(set) var ids: [AccountID]?
        public var maxConcurrentOpens = 512
        /// Shares kept in stock, as seconds of opens at the current rate (at least one packet's worth, at most
        /// `stockPerOpenInFlight` × `maxConcurrentOpens`). Longer than a send's slowest moments: a send is three
        /// commits, on PostgreSQL 15 ms on average and 74 ms at p99 under 3,000 opens/s, and with 0.05 s the stock
        /// ran out in them, each open then sent its own packet, and the burst filled the in-flight limit.
        public var stockSeconds = 0.2
        /// The stock's ceiling, in opens that can be in flight at once. A send is three commits and an open two,
        /// and at its slowest a send takes several opens' time: the stock must last that long. Capped at
        /// `maxConcurrentOpens` (0.1 s of opens at 5,000/s), the stock ran dry in the first seconds of a load on
        /// PostgreSQL, where sends took 40-150 ms: in four 2 s `simulate` runs at 5,000 opens/s offered, 389-793
        /// of about 1,000 packets were sent by opens that found no share (each two commits in front of its open),
        /// and 409-926 opens were skipped at the in-flight limit; with the ceiling at four times that (0.2 s of
        /// opens at 5,000/s), no open sent its own packet and 0-271 were skipped. At rates past what the engine
        /// carries, the ceiling still keeps the stock from sending packets nobody opens.
        public static let stockPerOpenInFlight = 4

        public init(users: [String]) {
            self.users = users
        }

        /// The users with their account ids, looked up together (one read on SQLite); names with no user account
        /// are left out.
        public static func identified(_ users: [String], on engine: Engine) async throws -> Shape {
            let ids = try await engine.accounts.userAccountIDs(named: users)
            var shape = Shape(users: [])
            shape.users.reserveCapacity(users.count)
            var found: [AccountID] = []
            found.reserveCapacity(users.count)
            for (name, id) in zip(users, ids) {
                guard let id else { continue }
                shape.users.append(name)
                found.append(id)
            }
            shape.ids = found
            return shape
        }
    }

    /// What the load has done.
    public struct Counters: Sendable, Equatable, Codable {
        public var rate = 0
        public var started = 0
        public var completed = 0
        public var failed = 0
        /// Opens the pacer skipped because `maxConcurrentOpens` were already in flight.
        public var skipped = 0
        /// Seconds into the load of the first and the last skip (nil: none): when the load met its limit.
        public var skipWindow: ClosedRange<Double>?
        public var packetsSent = 0
        /// Packets an opener sent itself because the stock was empty (each open so pays two commits more).
        public var packetsSentByOpeners = 0

        /// Every open started has ended, completed or failed.
        public var isSettled: Bool { started == completed + failed }
    }

    private struct State {
        var counters = Counters()
        var packets: [(id: PacketID, sharesLeft: Int)] = []
        var inFlight = 0
        /// Shares in `packets`, and shares of the packets being sent to it.
        var stocked = 0
        var incoming = 0
        /// After a send ahead failed (nobody could pay), none is tried before this.
        var stockPausedUntil: ContinuousClock.Instant?
        /// When the pacer began offering opens, after the first stock was sent.
        var pacingBegan: ContinuousClock.Instant?
    }

    /// The pacer's tick: small enough for smooth rates, large enough not to burn a core.
    static let tick: Duration = .milliseconds(10)
    /// How long sending ahead rests after a send failed.
    static let stockPause: Duration = .milliseconds(200)

    private let engine: Engine
    private let shape: Shape
    private let random: any RandomSource
    private let clock: any WallClock
    private let state = Mutex(State())

    public init(engine: Engine, shape: Shape, random: any RandomSource, clock: any WallClock = SystemClock(),
                rate: Int = 0) {
        precondition(shape.users.count >= 2, "the load needs at least two users")
        self.engine = engine
        self.shape = shape
        self.random = random
        self.clock = clock
        state.withLock { $0.counters.rate = max(0, rate) }
    }

    public var counters: Counters { state.withLock { $0.counters } }

    /// When `run()` began offering opens (nil before): it first sends the stock of packets they open, and a rate
    /// measured from before that counts the stocking as time the load was offered.
    public var pacingBegan: ContinuousClock.Instant? { state.withLock { $0.pacingBegan } }

    /// Opens in flight at most; the pacer skips an open rather than start one more (`Counters.skipped`).
    public var maxOpensInFlight: Int { shape.maxConcurrentOpens }

    public func setRate(_ rate: Int) {
        state.withLock { $0.counters.rate = max(0, rate) }
    }

    /// Paces opens at the current rate until cancelled, then waits for those in flight.
    public func run() async {
        // The stock first, before any open is due: otherwise every open of the first ticks finds none and sends
        // its own packet (a payment and a packet, two commits, before its grab), a burst that filled the in-flight
        // limit 0.1 s into a fresh engine's load at rates the engine carries once under way.
        let rate = state.withLock { $0.counters.rate }
        await withDiscardingTaskGroup { group in
            for _ in 0..<sendsToStock(rate: rate) { group.addTask { await self.sendToStock() } }
        }
        await withDiscardingTaskGroup { group in
            var owed = 0.0
            let began = ContinuousClock.now
            state.withLock { $0.pacingBegan = began }
            var last = began
            while !Task.isCancelled {
                try? await clock.sleep(for: LoadGenerator.tick)
                let now = ContinuousClock.now
                let rate = state.withLock { $0.counters.rate }
                owed += Double(rate) * (now - last).secondsDouble
                last = now
                if rate == 0 { owed = 0 }
                for _ in 0..<sendsToStock(rate: rate) { group.addTask { await self.sendToStock() } }
                while owed >= 1 {
                    owed -= 1
                    let admitted = state.withLock { state -> Bool in
                        guard state.inFlight < shape.maxConcurrentOpens else {
                            let seconds = (now - began).secondsDouble
                            state.counters.skipped += 1
                            state.counters.skipWindow = (state.counters.skipWindow?.lowerBound ?? seconds)...seconds
                            return false
                        }
                        state.inFlight += 1
                        state.counters.started += 1
                        return true
                    }
                    if admitted { group.addTask { await self.openOne() } }
                }
            }
        }
    }

    /// One open: take a share of a live packet (sending a new one when none is left), grab it, open it.
    func openOne() async {
        defer { state.withLock { $0.inFlight -= 1 } }
        do {
            let index = Int(random.uniform(in: 0...Int64(shape.users.count - 1)))
            let user = shape.users[index]
            let packet = try await takeShare(excluding: user)
            do {
                if let ids = shape.ids, ids.count == shape.users.count {
                    let account = Account(id: ids[index], name: user, kind: .user, balance: .zero,
                                          createdAt: Timestamp(millisecondsSinceEpoch: 0))
                    _ = try await engine.grabAndOpen(packet, as: account, quiet: true)
                } else {
                    _ = try await engine.grabAndOpen(packet, user: user, quiet: true)
                }
            } catch PacketError.alreadyGrabbed {
                // The same person drew the same packet twice: give the share back, count nothing.
                state.withLock { state in
                    state.packets.append((packet, 1))
                    state.stocked += 1
                }
                state.withLock { $0.counters.started -= 1 }
                return
            }
            state.withLock { $0.counters.completed += 1 }
        } catch {
            state.withLock { $0.counters.failed += 1 }
        }
    }

    /// How many packets to send ahead now to keep the stock at its target for `rate`; counts them as incoming.
    private func sendsToStock(rate: Int) -> Int {
        guard rate > 0 else { return 0 }
        // Bounded by what can be opened at once: at rates past what the engine carries, a stock of `stockSeconds`
        // (50,000 shares at a million a second) only sends packets nobody opens, taking the engine from the opens.
        let ceiling = Shape.stockPerOpenInFlight * shape.maxConcurrentOpens
        let target = max(shape.shares, min(Int(Double(rate) * shape.stockSeconds), ceiling))
        let now = ContinuousClock.now
        return state.withLock { state in
            if let paused = state.stockPausedUntil, now < paused { return 0 }
            var sends = 0
            while state.stocked + state.incoming < target {
                state.incoming += shape.shares
                sends += 1
            }
            return sends
        }
    }

    /// A packet sent ahead by a random person, into the stock.
    func sendToStock() async {
        let packet = try? await sendPacket(excluding: nil)
        state.withLock { state in
            state.incoming -= shape.shares
            guard let packet else {
                state.stockPausedUntil = ContinuousClock.now + LoadGenerator.stockPause
                return
            }
            state.packets.insert((packet.id, packet.shares), at: 0)
            state.stocked += packet.shares
            state.counters.packetsSent += 1
        }
    }

    private func takeShare(excluding user: String) async throws -> PacketID {
        let taken = state.withLock { state -> PacketID? in
            guard var first = state.packets.popLast() else { return nil }
            first.sharesLeft -= 1
            state.stocked -= 1
            if first.sharesLeft > 0 { state.packets.append(first) }
            return first.id
        }
        if let taken { return taken }
        let packet = try await sendPacket(excluding: user)
        state.withLock { state in
            state.counters.packetsSentByOpeners += 1
            if packet.shares > 1 {
                state.packets.append((packet.id, packet.shares - 1))
                state.stocked += packet.shares - 1
            }
            state.counters.packetsSent += 1
        }
        return packet.id
    }

    private func sendPacket(excluding user: String?) async throws -> Packet {
        var lastError: (any Error)?
        for _ in 0..<8 {
            let sender = shape.users[Int(random.uniform(in: 0...Int64(shape.users.count - 1)))]
            if sender == user { continue }
            do {
                return try await engine.send(.group(from: sender, total: shape.total, shares: shape.shares), quiet: true)
            } catch PacketError.insufficientFunds {
                lastError = PacketError.insufficientFunds(account: sender, balance: .zero, needed: shape.total)
            }
        }
        throw lastError ?? PacketError.unknownAccount(user ?? "")
    }
}
