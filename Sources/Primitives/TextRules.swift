import Foundation

/// The character rules shared by account names and greetings, and the key that makes look-alike names collide.
///
/// Refused everywhere: control characters, bidirectional controls, zero-width and other default-ignorable
/// characters, unassigned and private-use code points, and U+FFFD (what invalid UTF-8 decodes to). Names also
/// refuse every kind of whitespace; greetings allow spaces, and the joiners and variation selectors of emoji.
public enum TextRules {
    /// Why `text` breaks the character rules, or nil. `allowSpaces`/`allowEmojiJoiners` are the greeting's extras.
    public static func problem(in text: String, allowSpaces: Bool, allowEmojiJoiners: Bool) -> String? {
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let properties = scalar.properties
            if properties.generalCategory == .control {
                return "it contains a control character (\(TerminalText.sanitize(String(Character(scalar)))))"
            }
            if properties.isWhitespace {
                if allowSpaces, properties.generalCategory == .spaceSeparator { continue }
                return allowSpaces ? "it contains a line break" : "it contains spaces"
            }
            if allowEmojiJoiners, value == 0x200D || (0xFE00...0xFE0F).contains(value) || (0xE0020...0xE007F).contains(value) {
                continue
            }
            if properties.isBidiControl || properties.isDefaultIgnorableCodePoint || properties.generalCategory == .format {
                return "it contains an invisible or direction-changing character (\(hex(value)))"
            }
            switch properties.generalCategory {
            case .unassigned, .privateUse, .surrogate:
                return "it contains an unassigned or private-use character (\(hex(value)))"
            default:
                break
            }
            if value == 0xFFFD { return "it contains U+FFFD (invalid UTF-8)" }
        }
        return nil
    }

    /// The key under which two names collide: Unicode compatibility normalization with case folding (NFKC,
    /// casefold, NFKC), so `ALICE`, `Ａｌｉｃｅ` and `alice` share one. ASCII takes a fast path (bulk seeding).
    public static func lookalikeKey(_ name: String) -> String {
        if name.utf8.allSatisfy({ $0 < 0x80 }) { return name.lowercased() }
        let compatible = name.precomposedStringWithCompatibilityMapping
        let folded = compatible.folding(options: [.caseInsensitive], locale: nil)
        return folded.precomposedStringWithCompatibilityMapping
    }

    private static func hex(_ value: UInt32) -> String {
        "U+" + String(repeating: "0", count: max(0, 4 - String(value, radix: 16).count)) + String(value, radix: 16, uppercase: true)
    }
}
