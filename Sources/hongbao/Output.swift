import Foundation
import Ledger
import Primitives
import RedPackets
import Engine

/// Writes command results: JSON for tools (stable keys, money as decimal strings) or text for people.
enum Output {
    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// One line of text for a person: anything a user, producer or file supplied in it is sanitized
    /// (`TerminalText`), so that nothing reaches the terminal raw and a line stays one line.
    static func line(_ text: String) {
        print(TerminalText.sanitize(text))
    }

    /// Several lines the program composed (a summary, a report): each line is sanitized on its own, so the
    /// program's own line breaks stay line breaks while nothing inside a line reaches the terminal raw.
    static func lines(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) { print(TerminalText.sanitize(String(line))) }
    }

    /// One line of tab-separated fields, each sanitized on its own: a tab or newline inside a field is shown as
    /// `\t` or `\n`, so the line keeps exactly its fields (`queue peek`, `queue receive`).
    static func fields(_ fields: [String]) {
        print(fields.map(TerminalText.sanitize).joined(separator: "\t"))
    }
}

/// JSON views of domain values: money as "12.34", times as milliseconds since the epoch.
struct AccountView: Encodable {
    let id: Int64
    let name: String
    let kind: String
    let balance: String

    init(_ account: Account) {
        id = account.id.rawValue
        name = account.name
        kind = account.kind.rawValue
        balance = account.balance.decimalString
    }
}

struct BillView: Encodable {
    let sequence: Int64
    let transfer: String
    let amount: String
    let balanceAfter: String
    let counterparty: String
    let memo: String
    let atMilliseconds: Int64

    init(_ bill: Bill) {
        sequence = bill.sequence
        transfer = bill.transferID.rawValue
        amount = bill.amount.decimalString
        balanceAfter = bill.balanceAfter.decimalString
        counterparty = bill.counterparty
        memo = bill.memo
        atMilliseconds = bill.at.millisecondsSinceEpoch
    }
}

struct PacketView: Encodable {
    let id: String
    let kind: String
    let sender: String
    let total: String
    let shares: Int
    let grabbed: Int
    let opened: Int
    let openedAmount: String
    let refunded: String
    let state: String
    let greeting: String
    let createdAtMilliseconds: Int64
    let expiresAtMilliseconds: Int64
    /// Past its time but not yet refunded: the engine's next start (or its expiry timer) refunds it.
    let refundPending: Bool

    init(_ packet: Packet, now: Timestamp) {
        refundPending = packet.state == .open && packet.expiresAt <= now
        id = packet.id.rawValue
        kind = packet.kind.rawValue
        sender = packet.senderName
        total = packet.total.decimalString
        shares = packet.shares
        grabbed = packet.grabbed
        opened = packet.opened
        openedAmount = packet.openedAmount.decimalString
        refunded = packet.refunded.decimalString
        state = packet.state.rawValue
        greeting = packet.greeting
        createdAtMilliseconds = packet.createdAt.millisecondsSinceEpoch
        expiresAtMilliseconds = packet.expiresAt.millisecondsSinceEpoch
    }
}

struct ClaimView: Encodable {
    let id: String
    let packet: String
    let user: String
    let amount: String
    let state: String
    let attempts: Int
    let bestLuck: Bool?
    /// The queued credit, when there is one: retry attempts so far, the next try, dead-lettered or not.
    let queued: QueuedCreditView?

    init(_ claim: Claim, bestLuck: Bool? = nil, progress: CreditProgress? = nil) {
        queued = progress.map(QueuedCreditView.init)
        id = claim.id.rawValue
        packet = claim.packetID.rawValue
        user = claim.userName
        amount = claim.amount.decimalString
        state = claim.state.rawValue
        attempts = claim.attempts
        self.bestLuck = bestLuck
    }
}

struct QueuedCreditView: Encodable {
    let attempts: Int
    let nextTryAtMilliseconds: Int64
    let deadLettered: Bool

    init(_ progress: CreditProgress) {
        attempts = progress.attempts
        nextTryAtMilliseconds = progress.nextTryAt.millisecondsSinceEpoch
        deadLettered = progress.deadLettered
    }
}

extension ClaimState {
    /// What the recipient sees.
    var userText: String {
        switch self {
        case .crediting: return "crediting"
        case .waiting: return "on its way (waiting)"
        case .credited: return "credited"
        }
    }
}
