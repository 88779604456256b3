/// How a cell looks: semantic foreground and background roles plus attributes. Attributes (bold, reverse)
/// survive when colour is off, so anything that matters is also bold, reversed, a word or a glyph.
public struct CellStyle: Sendable, Hashable {
    public var foreground: ColorRole
    public var background: ColorRole
    public var bold: Bool
    public var reverse: Bool
    public var underline: Bool

    public init(_ foreground: ColorRole = .text, background: ColorRole = .background, bold: Bool = false, reverse: Bool = false, underline: Bool = false) {
        self.foreground = foreground
        self.background = background
        self.bold = bold
        self.reverse = reverse
        self.underline = underline
    }

    public static let plain = CellStyle()

    /// The same colours in bold.
    public var bolded: CellStyle {
        var copy = self
        copy.bold = true
        return copy
    }

    /// The same style on another background.
    public func on(_ background: ColorRole) -> CellStyle {
        var copy = self
        copy.background = background
        return copy
    }
}
