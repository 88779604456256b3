/// Text that is about to reach a terminal, made safe to print: nothing a user, a message producer or a file
/// supplied can move the cursor, retitle the window, clear the screen, reverse the direction of what follows or
/// hide itself. Control characters (C0, DEL, C1), bidirectional controls, line and paragraph separators and the
/// other invisible format characters are replaced by a visible escape: `\e`, `\n`, `\r`, `\t`, `\u{202E}`.
/// Everything else (any script, emoji sequences with their joiners and variation selectors) is kept as it is.
///
/// Apply it at every text output; JSON output is escaped as JSON instead (exact, not sanitized).
public enum TerminalText {
    /// `text` with every unsafe scalar replaced by its visible escape. Idempotent: the escapes are plain ASCII.
    public static func sanitize(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard isUnsafe(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar.value {
            case 0x1B: result += "\\e"
            case 0x0A: result += "\\n"
            case 0x0D: result += "\\r"
            case 0x09: result += "\\t"
            default: result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return result
    }

    /// `text` sanitized and, when longer than `characters`, cut with `…`: for echoing a rejected input in an error.
    public static func quoted(_ text: String, limit characters: Int = 40) -> String {
        let clean = sanitize(text)
        guard clean.count > characters else { return clean }
        return String(clean.prefix(characters)) + "…"
    }

    /// True for a scalar that must not reach a terminal raw.
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 || (0x7F..<0xA0).contains(value) { return true }
        if value < 0xAD { return false } // the common case: printable ASCII and Latin-1
        return isInvisibleFormat(scalar)
    }

    /// Bidirectional controls, line and paragraph separators, interlinear annotation marks and the default-ignorable
    /// code points (zero-width spaces, word joiners, BOM, soft hyphen, Hangul fillers...), except the ones emoji
    /// sequences and scripts need to render: the zero-width joiner and non-joiner, variation selectors and tags.
    public static func isInvisibleFormat(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x200C, 0x200D: return false                          // ZWNJ, ZWJ: scripts and emoji sequences
        case 0xFE00...0xFE0F, 0xE0100...0xE01EF: return false      // variation selectors
        case 0xE0020...0xE007F: return false                       // tags: subdivision flags
        case 0x2028, 0x2029, 0xFFF9...0xFFFB: return true
        default: break
        }
        let properties = scalar.properties
        return properties.isBidiControl || properties.isDefaultIgnorableCodePoint
    }
}
