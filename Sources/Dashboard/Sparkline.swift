/// Tiny graphs from a series of non-negative numbers.
public enum Sparkline {
    /// The glyph set: braille (2 samples × 4 levels per cell) on UTF-8 terminals, block elements
    /// (1 sample × 8 levels), or plain ASCII when the terminal cannot show either.
    public enum Style: Sendable, Equatable {
        case braille
        case blocks
        case ascii
    }

    /// The graph as `rows` lines of exactly `width` cells, top line first, newest sample on the right.
    /// Scaled to the largest value shown (at least 1); any non-zero value shows at least one dot.
    public static func lines(_ values: [Int], width: Int, rows: Int = 1, style: Style) -> [String] {
        guard width > 0, rows > 0 else { return [] }
        let samplesPerCell = style == .braille ? 2 : 1
        let levelsPerRow = style == .braille ? 4 : (style == .blocks ? 8 : asciiRamp.count - 1)
        let window = Array(values.suffix(width * samplesPerCell)).map { max(0, $0) }
        let padded = Array(repeating: 0, count: width * samplesPerCell - window.count) + window
        let peak = max(1, window.max() ?? 1)
        let totalLevels = levelsPerRow * rows
        let heights = padded.map { value -> Int in
            guard value > 0 else { return 0 }
            return max(1, Int((Int64(value) * Int64(totalLevels) + Int64(peak) - 1) / Int64(peak)))
        }
        var out: [String] = []
        for row in 0..<rows {
            let floor = (rows - 1 - row) * levelsPerRow
            var line = ""
            for cell in 0..<width {
                let levels = (0..<samplesPerCell).map { min(levelsPerRow, max(0, heights[cell * samplesPerCell + $0] - floor)) }
                line.append(glyph(levels, style: style))
            }
            out.append(line)
        }
        return out
    }

    private static let asciiRamp: [Character] = [" ", ".", ":", "-", "=", "+", "*", "#"]
    private static let blockRamp: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    /// Braille dot bits from the bottom up, left column then right column.
    private static let leftDots: [UInt32] = [0x40, 0x04, 0x02, 0x01]
    private static let rightDots: [UInt32] = [0x80, 0x20, 0x10, 0x08]

    private static func glyph(_ levels: [Int], style: Style) -> Character {
        switch style {
        case .ascii: return asciiRamp[levels[0]]
        case .blocks: return blockRamp[levels[0]]
        case .braille:
            if levels[0] == 0 && levels[1] == 0 { return " " }
            var bits: UInt32 = 0
            for level in 0..<levels[0] { bits |= leftDots[level] }
            for level in 0..<levels[1] { bits |= rightDots[level] }
            return Character(Unicode.Scalar(0x2800 + bits) ?? " ")
        }
    }
}
