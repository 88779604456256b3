import Primitives
/// A grid of cells: what the renderer produces and the terminal layer draws (by diffing two buffers).
public struct CellBuffer: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    /// Text is written with `ASCIIFallback` (a terminal that cannot show Unicode): `CNY`, `us`, `-`, `...`.
    public var asciiOnly = false

    /// A blank buffer; negative sizes count as zero.
    public init(width: Int, height: Int, fill: Cell = .blank) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.cells = Array(repeating: fill, count: self.width * self.height)
    }

    /// The cell at a position (a blank cell outside the grid).
    public subscript(x: Int, y: Int) -> Cell {
        guard contains(x: x, y: y) else { return .blank }
        return cells[y * width + x]
    }

    public func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

    /// Sets one cell, keeping wide glyphs whole: overwriting either half of a wide glyph blanks the other half.
    public mutating func set(x: Int, y: Int, _ cell: Cell) {
        guard contains(x: x, y: y) else { return }
        let index = y * width + x
        let old = cells[index]
        if old.width == 0, x > 0 { cells[index - 1] = Cell(style: cells[index - 1].style) }
        if old.width == 2, x + 1 < width { cells[index + 1] = Cell(style: cells[index + 1].style) }
        cells[index] = cell
    }

    /// Writes `text` from (x, y) within `maxWidth` columns (default: to the right edge), truncating with `…`.
    /// Control, bidirectional and invisible format characters are shown escaped (`TerminalText`).
    /// Returns the columns written. A wide glyph that would cross the limit is replaced by a space.
    /// `text` as `write` puts it in `columns`: sanitized, whatever it holds (a name, a message body, a caption),
    /// so that nothing reaches the terminal raw; in ASCII transliterated; cut to fit. A renderer that must leave
    /// room beside a text measures this.
    public static func shown(_ text: String, in columns: Int, asciiOnly: Bool) -> String {
        let safe = TerminalText.sanitize(text)
        return asciiOnly
            ? ASCIIFallback.truncate(ASCIIFallback.transliterate(safe), to: columns)
            : DisplayWidth.truncate(safe, to: columns)
    }

    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, maxWidth: Int? = nil, style: CellStyle = .plain) -> Int {
        guard y >= 0, y < height, x < width else { return 0 }
        let limit = min(maxWidth ?? (width - x), width - x)
        guard limit > 0 else { return 0 }
        let fitted = CellBuffer.shown(text, in: limit, asciiOnly: asciiOnly)
        var column = x
        for character in fitted {
            let glyphWidth = DisplayWidth.of(character)
            if glyphWidth == 0 { continue }
            if column + glyphWidth > x + limit { break }
            if column >= 0 {
                set(x: column, y: y, Cell(character: character, width: UInt8(glyphWidth), style: style))
                if glyphWidth == 2 { set(x: column + 1, y: y, Cell(character: " ", width: 0, style: style)) }
            }
            column += glyphWidth
        }
        return column - x
    }

    /// Fills a rectangle with a character in a style.
    public mutating func fill(_ rect: Rect, character: Character = " ", style: CellStyle = .plain) {
        let (rows, columns) = clip(rect)
        for row in rows {
            for column in columns {
                set(x: column, y: row, Cell(character: character, width: 1, style: style))
            }
        }
    }

    /// The rows and columns of `rect` that lie inside the buffer (empty ranges when none do).
    private func clip(_ rect: Rect) -> (Range<Int>, Range<Int>) {
        let top = min(max(0, rect.y), height)
        let bottom = max(top, min(height, rect.maxY))
        let left = min(max(0, rect.x), width)
        let right = max(left, min(width, rect.maxX))
        return (top..<bottom, left..<right)
    }

    /// Changes the style of the cells of a rectangle, keeping their characters.
    public mutating func restyle(_ rect: Rect, _ change: (inout CellStyle) -> Void) {
        let (rows, columns) = clip(rect)
        for row in rows {
            for column in columns {
                change(&cells[row * width + column].style)
            }
        }
    }

    /// The plain text, one line per row, trailing spaces removed: for snapshot tests and captures.
    public func text() -> String {
        var lines: [String] = []
        lines.reserveCapacity(height)
        for row in 0..<height {
            var line = ""
            for column in 0..<width {
                let cell = cells[row * width + column]
                if cell.width > 0 { line.append(cell.character) }
            }
            while line.last == " " { line.removeLast() }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// The attributes as a grid of letters (`.` plain, `b` bold, `r` reverse, `R` both, `u` underline), for
    /// tests that check what remains visible without colour.
    public func attributeMap() -> String {
        var lines: [String] = []
        for row in 0..<height {
            var line = ""
            for column in 0..<width {
                let style = cells[row * width + column].style
                switch (style.bold, style.reverse) {
                case (true, true): line.append("R")
                case (false, true): line.append("r")
                case (true, false): line.append("b")
                case (false, false): line.append(style.underline ? "u" : ".")
                }
            }
            while line.last == "." { line.removeLast() }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
