/// What the terminal can show, decided by the terminal layer (codeset, `NO_COLOR`, `has_colors`).
public struct RenderOptions: Sendable, Equatable {
    /// UTF-8 codeset: box drawing and braille; otherwise ASCII borders and graphs.
    public var unicode: Bool
    /// Colours available and wanted; when `false` (NO_COLOR) emphasis is carried by bold and reverse.
    public var color: Bool

    public init(unicode: Bool = true, color: Bool = true) {
        self.unicode = unicode
        self.color = color
    }

    var sparklineStyle: Sparkline.Style { unicode ? .braille : .ascii }
}
