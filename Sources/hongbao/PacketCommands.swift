import ArgumentParser
import Engine
import Primitives
import RedPackets

/// `hongbao send FROM AMOUNT (--to NAME | --shares N [--equal])`.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send a red packet: personal (--to) or group (--shares, lucky unless --equal). Prints its id."
    )
    @OptionGroup var data: DataOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The sender's account.") var from: String
    @Argument(help: "The total amount, e.g. 100.00.") var amount: String
    @Option(help: "Personal packet: the recipient.") var to: String?
    @Option(help: "Group packet: the number of shares (1–100).") var shares: String?
    @Flag(help: "Group packet: equal shares instead of lucky ones.") var equal = false
    @Option(help: "Greeting shown with the packet (at most 64 characters; no line breaks or invisible characters).")
    var greeting = "恭喜发财，大吉大利"
    @Option(help: "Time to live in seconds, 1 to 604,800 (default 24 h).") var ttl: String?

    func validate() throws {
        if (to == nil) == (shares == nil) {
            throw ValidationError("give either --to NAME (personal) or --shares N (group)")
        }
        if to != nil && equal { throw ValidationError("--equal applies to group packets only") }
    }

    func run() async throws {
        let limits = Limits.default.packets
        let shareCount = try NumberOption.integer(shares, "--shares", limits.minShares...limits.maxShares)
        let seconds = try NumberOption.integer(
            ttl, "--ttl", Int(limits.minTimeToLive.wholeMilliseconds / 1_000)...Int(limits.maxTimeToLive.wholeMilliseconds / 1_000),
            unit: "s")
        let total = try parseAmount(amount)
        let timeToLive = seconds.map { Duration.seconds($0) }
        let request: SendRequest
        if let to {
            request = .personal(from: from, to: to, amount: total, greeting: greeting, timeToLive: timeToLive)
        } else {
            request = .group(from: from, total: total, shares: shareCount ?? 0, equal: equal, greeting: greeting,
                             timeToLive: timeToLive)
        }
        if let error = request.validate(limits: .default) { throw UserError(error) }
        let packet = try await data.withWritableBooks { books in
            try await userErrors { try await books.packets.send(request) }
        }
        if output.json { return try Output.json(PacketView(packet, now: SystemClock().now())) }
        Output.line(packet.id.rawValue)
    }
}

/// `hongbao grab PACKET NAME`.
struct GrabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "grab", abstract: "Grab a share of a packet.")
    @OptionGroup var data: DataOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The packet's id.") var packet: String
    @Argument(help: "Who grabs.") var name: String

    struct View: Encodable {
        let packet: String
        let user: String
        let slot: Int
    }

    func run() async throws {
        let slot = try await data.withWritableBooks { books in
            try await userErrors { try await books.packets.grab(PacketID(packet), user: name) }
        }
        if output.json { return try Output.json(View(packet: packet, user: name, slot: slot)) }
        Output.line("\(name) grabbed share \(slot) of \(packet); open it to see the amount")
    }
}

/// `hongbao open PACKET NAME`.
struct OpenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open", abstract: "Open a grabbed share: the amount is drawn now and credited.")
    @OptionGroup var data: DataOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The packet's id.") var packet: String
    @Argument(help: "Who opens.") var name: String

    struct View: Encodable {
        let claim: ClaimView
        let replay: Bool
    }

    func run() async throws {
        let result = try await data.withWritableBooks { books in
            try await userErrors { try await books.open(PacketID(packet), user: name) }
        }
        if output.json { return try Output.json(View(claim: ClaimView(result.claim), replay: result.wasReplay)) }
        let again = result.wasReplay ? " (already opened)" : ""
        Output.line("\(name) opened \(result.claim.amount.formatted): \(result.claim.state.userText)\(again)")
    }
}

/// `hongbao packet show|sent|received`: reads only (see `BooksReading`).
struct PacketCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "packet", abstract: "Inspect packets and claims.", subcommands: [Show.self, Sent.self, Received.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A packet and who got what.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The packet's id.") var packet: String

        struct View: Encodable {
            let packet: PacketView
            let recipient: String?
            /// What the settlement account holds for this packet (total − credited − refunded).
            let held: String
            let claims: [ClaimView]
        }

        func run() async throws {
            let (detail, recipient, progress) = try await data.withReadableBooks { books in
                try await userErrors {
                    let detail = try books.packets.detail(PacketID(packet))
                    var recipient: String?
                    if let id = detail.packet.recipientID { recipient = try await books.accountName(id) }
                    let progress = try await books.creditProgress(of: detail.claims.filter { $0.state != .credited }.map(\.id))
                    return (detail, recipient, progress)
                }
            }
            let now = SystemClock().now()
            let p = detail.packet
            if output.json {
                return try Output.json(View(
                    packet: PacketView(p, now: now), recipient: recipient, held: p.held.decimalString,
                    claims: detail.claims.map { ClaimView($0, bestLuck: $0.id == detail.bestLuck, progress: progress[$0.id]) }))
            }
            let shareWord = p.shares == 1 ? "share" : "shares"
            Output.line("\(p.id)  \(p.kind.rawValue) from \(p.senderName)" + (recipient.map { " to \($0)" } ?? "")
                        + ": \(p.total.formatted) in \(p.shares) \(shareWord)  [\(p.stateText(now: now))]")
            Output.line("  \(p.greeting)")
            Output.line("  grabbed \(p.grabbed)/\(p.shares), opened \(p.opened) for \(p.openedAmount.formatted)"
                        + (p.refunded.isPositive ? ", refunded \(p.refunded.formatted)" : "")
                        + "; holds \(p.held.formatted) in the settlement account")
            for claim in detail.claims {
                let luck = claim.id == detail.bestLuck ? "  ★ best luck" : ""
                var state = claim.state.userText
                if let queued = progress[claim.id] {
                    let wait = max(0, (queued.nextTryAt - now).wholeMilliseconds)
                    state = queued.deadLettered
                        ? "waiting (dead-lettered after \(queued.attempts) attempts; redrive to retry)"
                        : "waiting (attempt \(queued.attempts), next try in \(String(format: "%.1f", Double(wait) / 1_000)) s)"
                }
                Output.line("  " + Text.padded(claim.userName, to: 12) + Text.rightAligned(claim.amount.formatted, to: 12)
                            + "  " + state + luck)
            }
        }
    }

    struct Sent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Packets a user sent, newest first.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The sender.") var name: String
        @Option(help: "How many (1–100,000).") var limit = "20"

        func run() async throws {
            let count = try NumberOption.integer(limit, "--limit", NumberOption.listRange)
            let packets = try await data.withReadableBooks { books in
                try await userErrors { try await books.packets.sent(by: name, limit: count) }
            }
            let now = SystemClock().now()
            if output.json { return try Output.json(packets.map { PacketView($0, now: now) }) }
            let rows = packets.map { p in
                [p.id.rawValue, p.total.formatted, p.kind.rawValue, "\(p.opened)/\(p.shares)", p.stateText(now: now)]
            }
            guard !rows.isEmpty else { return Output.line("\(name) has sent no packets") }
            Text.table(header: ["packet", "total", "kind", "opened", "state"], rows: rows, rightAligned: [1, 3])
                .forEach(Output.line)
        }
    }

    struct Received: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Shares a user opened, newest first.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The recipient.") var name: String
        @Option(help: "How many (1–100,000).") var limit = "20"

        func run() async throws {
            let count = try NumberOption.integer(limit, "--limit", NumberOption.listRange)
            let claims = try await data.withReadableBooks { books in
                try await userErrors { try await books.packets.received(by: name, limit: count) }
            }
            if output.json { return try Output.json(claims.map { ClaimView($0) }) }
            let rows = claims.map { [$0.packetID.rawValue, $0.amount.formatted, $0.state.userText] }
            guard !rows.isEmpty else { return Output.line("\(name) has opened no shares") }
            Text.table(header: ["packet", "amount", "state"], rows: rows, rightAligned: [1]).forEach(Output.line)
        }
    }
}

extension Packet {
    /// The state as people should read it now: an open packet past its time is expired even before the next
    /// start refunds it (reading commands change nothing, so the refund waits for the engine).
    func stateText(now: Timestamp) -> String {
        if state == .open && expiresAt <= now { return "expired, refund pending" }
        return state.rawValue
    }
}
