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
}
