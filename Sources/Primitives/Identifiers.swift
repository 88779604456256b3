/// An account's stable numeric identity. Names are for people; ids are for rows.
public struct AccountID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public static func < (lhs: AccountID, rhs: AccountID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "#\(rawValue)" }
}

/// A transfer's id is its idempotency key: replaying the same id with the same fields is a no-op that
/// returns the original result.
public struct TransferID: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
}

/// A red packet's id; also the id of the transfer that funds its escrow.
public struct PacketID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// Characters of a generated id: the creation second, then random characters.
    public static let timeCharacters = 6
    public static let randomCharacters = 6

    /// A new id that sorts by creation time: `timeCharacters` of the second it was made (base 31, wrapping
    /// every 28 years), then `randomCharacters` random ones.
    ///
    /// Packets, grabs, claims and their transfers are keyed by this id. Random ids scattered every insert
    /// across the whole of each of those B-trees, so a commit dirtied (and wrote to the WAL) one page per
    /// row; ids of the same second land on the same few pages at the right edge.
    public static func generate(at time: Timestamp, random: any RandomSource) -> PacketID {
        let alphabet = IdentifierAlphabet.characters
        var second = UInt64(max(0, time.millisecondsSinceEpoch / 1000))
        var prefix = [Character](repeating: alphabet[0], count: timeCharacters)
        for index in prefix.indices.reversed() {
            prefix[index] = alphabet[Int(second % UInt64(alphabet.count))]
            second /= UInt64(alphabet.count)
        }
        return PacketID(String(prefix) + random.identifier(count: randomCharacters))
    }

    /// The transfer that moves the sender's money into escrow.
    public var fundingTransferID: TransferID { TransferID("send:\(rawValue)") }
    /// The transfer that refunds the unopened remainder at expiry.
    public var refundTransferID: TransferID { TransferID("refund:\(rawValue)") }
}

/// An opened share of a packet. Deterministic from the packet and the grab slot, so opening twice finds
/// the same claim; also the id of the transfer that credits the recipient (and of its queue message).
public struct ClaimID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(packet: PacketID, slot: Int) { self.rawValue = "\(packet.rawValue).\(slot)" }
    public var description: String { rawValue }

    /// The transfer that credits the recipient.
    public var creditTransferID: TransferID { TransferID("claim:\(rawValue)") }
}
