import Foundation
import Primitives

/// Rules for user account names: 1–64 characters, any script (`张三` is fine), in Unicode NFC, and nothing that
/// could make one name print like another or disturb a terminal:
/// - no whitespace, control, bidirectional-control, zero-width or other invisible format characters, no unassigned
///   or private-use code points (`TextRules`);
/// - no `:` (system accounts are named `escrow:…`);
/// - not a system name (`mint`, `escrow`, `settlement`, `system`) in any spelling: `MINT` and `ｍｉｎｔ` are refused;
/// - unique under `TextRules.lookalikeKey` (NFKC with case folding): beside `alice`, `ALICE` cannot be opened.
///   The ledger enforces that one with a unique index on the stored key (see `LedgerSchema`).
public enum AccountName {
    /// Names no user account may take, compared by look-alike key.
    public static let reserved: Set<String> = [Account.mintName, "escrow", "settlement", "system"]

    public static func validate(_ name: String, limits: Limits) throws {
        if name.isEmpty { throw LedgerError.invalidAccountName(name, reason: "it is empty") }
        if name.count > limits.packets.maxNameLength {
            throw LedgerError.invalidAccountName(name, reason: "it is longer than \(limits.packets.maxNameLength) characters")
        }
        if name.contains(":") { throw LedgerError.invalidAccountName(name, reason: "':' is reserved") }
        if let problem = TextRules.problem(in: name, allowSpaces: false, allowEmojiJoiners: false) {
            throw LedgerError.invalidAccountName(name, reason: problem)
        }
        if !name.utf8.allSatisfy({ $0 < 0x80 }), // ASCII is always NFC: the fast path for bulk loads
           !name.unicodeScalars.elementsEqual(name.precomposedStringWithCanonicalMapping.unicodeScalars) {
            throw LedgerError.invalidAccountName(name, reason: "it is not in Unicode normal form C (NFC)")
        }
        if reserved.contains(TextRules.lookalikeKey(name)) {
            throw LedgerError.invalidAccountName(name, reason: "it is reserved for the system")
        }
    }
}
