/// One terminal cell. A wide glyph occupies its own cell (width 2) and the next one, a continuation cell
/// (width 0) that the terminal layer skips.
public struct Cell: Sendable, Equatable {
    public var character: Character
    /// 1, 2 (wide glyph) or 0 (right half of a wide glyph).
    public var width: UInt8
    public var style: CellStyle

    public init(character: Character = " ", width: UInt8 = 1, style: CellStyle = .plain) {
        self.character = character
        self.width = width
        self.style = style
    }

    public static let blank = Cell()
}
