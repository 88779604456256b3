import Primitives

/// What the dashboard writes where the terminal cannot show Unicode (`LANG=C`): ASCII that reads the same, never
/// `?`. Amounts become `CNY 12.34`, microseconds `us`, dots and dashes `-`, a cut `...`. Characters not listed
/// (CJK names, greetings) are data: the terminal layer shows what it can of them.
public enum ASCIIFallback {
    static let replacements: [Character: String] = [
        "¥": "CNY ", "µ": "u", "·": "-", "…": "...", "—": "-", "–": "-", "×": "x", "→": "->", "←": "<-", "⇄": "<->",
        "≥": ">=", "≤": "<=", "▶": ">", "▸": ">", "◀": "<", "■": "#", "│": "|", "✓": "ok", "✗": "X", "★": "*", "●": "*",
        "‖": "=", "▲": "^", "▼": "v", "◆": "~", "↻": "*", "↓": "v", "↑": "^", "█": "#", "▏": "|", "⏸": "||",
        "“": "\"", "”": "\"", "‘": "'", "’": "'", "，": ",", "：": ":", "。": ".",
    ]

    /// `text` with every listed glyph replaced.
    public static func transliterate(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { !$0.isASCII }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            if let replacement = replacements[character] { out += replacement } else { out.append(character) }
        }
        return out
    }

    /// `text` cut at the end to `columns`, the cut marked with dots, never "…" (which an ASCII terminal shows
    /// as "?"): "...", or one "." where three columns are too many.
    public static func truncate(_ text: String, to columns: Int) -> String {
        guard DisplayWidth.of(text) > columns, columns > 0 else { return DisplayWidth.truncate(text, to: columns) }
        return columns < 4
            ? DisplayWidth.truncate(text, to: columns).dropLast() + "."
            : DisplayWidth.truncate(text, to: columns - 2).dropLast() + "..."
    }
}
