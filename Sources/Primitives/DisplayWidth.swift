/// Terminal display width, wcwidth-style, for the ranges that matter on this dashboard: CJK and fullwidth
/// forms count two columns, combining marks and zero-width characters count none, everything else one.
/// Pure Swift so that the renderer and its tests do not depend on the C library's locale.
public enum DisplayWidth {
    /// Columns taken by one Unicode scalar (0, 1 or 2).
    public static func of(_ scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value == 0 { return 0 }
        if value < 0x20 || (0x7F..<0xA0).contains(value) { return 0 }
        if value < 0x300 { return 1 }
        if isZeroWidth(scalar) { return 0 }
        if isWide(value) { return 2 }
        // Emoji shown as pictures by default (regional indicators, 🧑, 🫠 ... beyond the table): two columns, as
        // East Asian Width gives every Emoji_Presentation character since Unicode 9.
        return value >= 0x231A && scalar.properties.isEmojiPresentation ? 2 : 1
    }

    /// Columns taken by one grapheme cluster: the width of its first visible scalar (a base letter with
    /// combining marks is one column), except that an emoji sequence is one two-column picture: with a variation
    /// selector 16 (❤️), a skin tone (👍🏽), joined by zero-width joiners (👨‍👩‍👧, 🏳️‍🌈) or a flag (🇨🇳).
    public static func of(_ character: Character) -> Int {
        let scalars = character.unicodeScalars
        guard let first = scalars.first else { return 0 }
        if scalars.index(after: scalars.startIndex) == scalars.endIndex { return of(first) }
        var width = 0
        var emojiSequence = false
        for scalar in scalars {
            let scalarWidth = of(scalar)
            if scalarWidth > 0 && width == 0 { width = scalarWidth }
            switch scalar.value {
            case 0xFE0F, 0x1F3FB...0x1F3FF, 0x1F1E6...0x1F1FF: emojiSequence = true
            case 0x200D: emojiSequence = emojiSequence || first.properties.isEmoji
            default: break
            }
        }
        return width > 0 && emojiSequence ? 2 : width
    }

    /// Columns taken by a string.
    public static func of(_ text: String) -> Int {
        var total = 0
        for character in text { total += of(character) }
        return total
    }

    /// The longest prefix of `text` that fits in `columns`, ending in `…` when something was cut. Never splits a
    /// wide glyph: if the last one does not fit, it is dropped (the result may be one column short).
    public static func truncate(_ text: String, to columns: Int) -> String {
        guard columns > 0 else { return "" }
        if of(text) <= columns { return text }
        return String(fitting(text, in: columns - 1)) + "…"
    }

    /// The longest suffix of `text` that fits in `columns`, starting with `…` when something was cut: for
    /// identifiers that share a prefix (packet ids begin with their creation second) and differ at the end.
    public static func truncateLeading(_ text: String, to columns: Int) -> String {
        guard columns > 0 else { return "" }
        if of(text) <= columns { return text }
        return "…" + String(fitting(text.reversed(), in: columns - 1).reversed())
    }

    /// The leading characters of `characters` whose widths add up to at most `columns`.
    private static func fitting(_ characters: some Sequence<Character>, in columns: Int) -> [Character] {
        var kept: [Character] = []
        var used = 0
        for character in characters {
            let width = of(character)
            if used + width > columns { break }
            kept.append(character)
            used += width
        }
        return kept
    }

    /// `text` truncated or padded with spaces to exactly `columns` (left-aligned, or right-aligned).
    public static func fit(_ text: String, to columns: Int, alignRight: Bool = false) -> String {
        let cut = truncate(text, to: columns)
        let padding = String(repeating: " ", count: max(0, columns - of(cut)))
        return alignRight ? padding + cut : cut + padding
    }

    private static func isZeroWidth(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2064, 0xFE00...0xFE0F, 0xFEFF, 0xE0100...0xE01EF:
            return true
        default:
            break
        }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark: return true
        case .format: return scalar.value != 0x00AD
        default: return false
        }
    }

    private static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F,   // Hangul Jamo initials
             0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0, 0x23F3,
             0x25FD...0x25FE, 0x2614...0x2615, 0x2648...0x2653, 0x267F, 0x2693, 0x26A1,
             0x26AA...0x26AB, 0x26BD...0x26BE, 0x26C4...0x26C5, 0x26CE, 0x26D4, 0x26EA,
             0x26F2...0x26F3, 0x26F5, 0x26FA, 0x26FD, 0x2705, 0x270A...0x270B, 0x2728, 0x274C,
             0x274E, 0x2753...0x2755, 0x2757, 0x2795...0x2797, 0x27B0, 0x27BF, 0x2B1B...0x2B1C,
             0x2B50, 0x2B55,
             0x2E80...0x303E,   // CJK radicals, Kangxi, CJK symbols and punctuation
             0x3041...0x33FF,   // Hiragana, Katakana, Bopomofo, Hangul compatibility, CJK compatibility
             0x3400...0x4DBF,   // CJK extension A
             0x4E00...0x9FFF,   // CJK unified ideographs
             0xA000...0xA4CF,   // Yi
             0xA960...0xA97F,   // Hangul Jamo extended A
             0xAC00...0xD7A3,   // Hangul syllables
             0xF900...0xFAFF,   // CJK compatibility ideographs
             0xFE10...0xFE19, 0xFE30...0xFE6F, // vertical forms, CJK compatibility forms, small forms
             0xFF00...0xFF60,   // fullwidth forms
             0xFFE0...0xFFE6,   // fullwidth signs (￥)
             0x16FE0...0x16FE4, 0x17000...0x18CFF, 0x1B000...0x1B2FF,
             0x1F004, 0x1F0CF, 0x1F18E, 0x1F191...0x1F19A, 0x1F200...0x1F251,
             0x1F300...0x1F64F, // pictographs, emoticons (🧧 is 0x1F9E7, below)
             0x1F680...0x1F6FF, 0x1F7E0...0x1F7EB, 0x1F90C...0x1F9FF, 0x1FA70...0x1FAFF,
             0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}
