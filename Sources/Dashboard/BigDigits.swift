/// A block-character font five rows high for the presenter view: digits, the separators of numbers, `¥`, `%`,
/// `/`, `k` and `M`. Each glyph is drawn from a pattern of `#`; the renderer turns `#` into `█` (or `#` on
/// terminals without UTF-8), so the font reads from the back of a hall and without colour.
public enum BigDigits {
    /// Rows of every glyph.
    public static let height = 5
    /// Blank columns between two glyphs.
    public static let spacing = 1

    static let glyphs: [Character: [String]] = [
        "0": [" ### ", "#   #", "#   #", "#   #", " ### "],
        "1": ["  #  ", " ##  ", "  #  ", "  #  ", " ### "],
        "2": ["#### ", "    #", " ### ", "#    ", "#####"],
        "3": ["#### ", "    #", " ### ", "    #", "#### "],
        "4": ["#   #", "#   #", "#####", "    #", "    #"],
        "5": ["#####", "#    ", "#### ", "    #", "#### "],
        "6": [" ### ", "#    ", "#### ", "#   #", " ### "],
        "7": ["#####", "    #", "   # ", "  #  ", "  #  "],
        "8": [" ### ", "#   #", " ### ", "#   #", " ### "],
        "9": [" ### ", "#   #", " ####", "    #", " ### "],
        ",": ["  ", "  ", "  ", " #", "# "],
        ".": [" ", " ", " ", " ", "#"],
        "¥": ["#   #", " # # ", "#####", "  #  ", "#####"],
        "%": ["#   #", "   # ", "  #  ", " #   ", "#   #"],
        "/": ["    #", "   # ", "  #  ", " #   ", "#    "],
        "k": ["#    ", "#  # ", "###  ", "#  # ", "#   #"],
        "M": ["#   #", "## ##", "# # #", "#   #", "#   #"],
        "-": ["    ", "    ", "####", "    ", "    "],
        " ": ["  ", "  ", "  ", "  ", "  "],
    ]

    /// Whether every character of `text` has a glyph.
    public static func canDraw(_ text: String) -> Bool {
        text.allSatisfy { glyphs[$0] != nil }
    }

    /// Columns `text` takes when drawn (glyphs plus the spacing between them).
    public static func width(of text: String) -> Int {
        let widths = text.compactMap { glyphs[$0]?.first?.count }
        guard !widths.isEmpty else { return 0 }
        return widths.reduce(0, +) + spacing * (widths.count - 1)
    }

    /// The five rows of `text`, each `width(of:)` long, with `#` for ink and spaces elsewhere (characters without
    /// a glyph are left out).
    public static func rows(of text: String) -> [String] {
        var rows = Array(repeating: "", count: height)
        var first = true
        for character in text {
            guard let glyph = glyphs[character] else { continue }
            for row in 0..<height {
                if !first { rows[row] += String(repeating: " ", count: spacing) }
                rows[row] += glyph[row]
            }
            first = false
        }
        return rows
    }
}
