import Foundation
import Primitives

/// Rules for user account names: 1–64 characters, any script (`张三` is fine), no whitespace or control
/// characters, no `:` (reserved for system accounts such as `escrow:…`), not `mint`, and in Unicode NFC (names are
/// compared byte for byte by SQLite, so "é" typed decomposed would otherwise be a second, identical-looking account).
public enum AccountName {
    public static func validate(_ name: String, limits: Limits) throws {
        if name.isEmpty { throw LedgerError.invalidAccountName(name, reason: "it is empty") }
        if name.count > limits.packets.maxNameLength {
            throw LedgerError.invalidAccountName(name, reason: "it is longer than \(limits.packets.maxNameLength) characters")
        }
        if name == Account.mintName { throw LedgerError.invalidAccountName(name, reason: "it is reserved") }
        if name.contains(":") { throw LedgerError.invalidAccountName(name, reason: "':' is reserved") }
        if name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control }) {
            throw LedgerError.invalidAccountName(name, reason: "it contains spaces or control characters")
        }
        if !name.utf8.allSatisfy({ $0 < 0x80 }), // ASCII is always NFC: the fast path for bulk loads
           !name.unicodeScalars.elementsEqual(name.precomposedStringWithCanonicalMapping.unicodeScalars) {
            throw LedgerError.invalidAccountName(name, reason: "it is not in Unicode normal form C (NFC)")
        }
    }
}
