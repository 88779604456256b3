/// A WAL position as PostgreSQL prints it (`16/B374D848`: high and low 32 bits in hexadecimal), as a number
/// that orders positions.
public enum LSN {
    /// The position's byte offset, nil when `text` is not an LSN.
    public static func parse(_ text: String) -> UInt64? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16),
              high <= UInt64(UInt32.max), low <= UInt64(UInt32.max) else { return nil }
        return high << 32 | low
    }
}
