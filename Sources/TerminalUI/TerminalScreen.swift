import CNCursesShim
import Dashboard

/// The ncurses screen: the only code that draws. Owned by the dashboard loop alone (not `Sendable`).
/// Draws a `CellBuffer` by diffing it against the previous frame and calls `doupdate` once per frame.
final class TerminalScreen {
    private(set) var width: Int = 0
    private(set) var height: Int = 0
    let unicode: Bool
    private var palette: ColorPalette
    private var previous: CellBuffer?
    private var styleCache: [CellStyle: (attributes: Int32, pair: Int32)] = [:]
    private var ended = false
    /// Bytes of a multi-byte character read one at a time outside UTF-8 locales.
    private var pendingUTF8: [UInt8] = []

    /// Takes over the terminal. Call `end()` on every path out (the loop does it in a `defer`).
    init(theme: Theme, color: Bool) throws(TerminalError) {
        guard hb_begin(color ? 1 : 0) == 0 else { throw .cannotInitialise }
        unicode = hb_is_utf8() != 0
        palette = ColorPalette(theme: theme, colors: Int(hb_colors()), colorPairs: Int(hb_color_pairs()))
        refreshSize()
    }

    /// Whether the terminal shows colours at all.
    var hasColor: Bool { palette.colors > 0 }

    /// Restores the terminal (endwin). Idempotent.
    func end() {
        guard !ended else { return }
        ended = true
        hb_end()
    }

    func refreshSize() {
        var columns: Int32 = 0
        var rows: Int32 = 0
        hb_size(&columns, &rows)
        if Int(columns) != width || Int(rows) != height {
            width = Int(columns)
            height = Int(rows)
            previous = nil
            hb_clear()
        }
    }

    /// Uses another theme; the next frame repaints everything.
    func apply(_ theme: Theme) {
        palette = ColorPalette(theme: theme, colors: palette.colors, colorPairs: Int(hb_color_pairs()))
        styleCache = [:]
        invalidate()
    }

    /// Forget the previous frame and the terminal's contents (Ctrl-L, resize, theme change).
    func invalidate() {
        previous = nil
        hb_invalidate()
    }

    /// Reads one pending key, if any, without blocking. Resize events update the size first.
    func readKey() -> TerminalInput? {
        var character: UInt32 = 0
        let kind = hb_read_key(&character)
        switch kind {
        case HB_KEY_NONE: return nil
        case HB_KEY_RESIZE:
            refreshSize()
            return .resize(width: width, height: height)
        case HB_KEY_CHARACTER where !unicode && character >= 0x80 && character <= 0xFF:
            // Outside UTF-8 the shim hands over bytes: put the UTF-8 sequence back together, so that CJK typed at
            // `:` arrives whole.
            pendingUTF8.append(UInt8(character))
            guard let scalar = KeyDecoder.decodeUTF8(&pendingUTF8) else { return .ignored }
            return .key(.character(Character(scalar)))
        default:
            pendingUTF8 = []
            return KeyDecoder.decode(kind: kind, character: character).map { .key($0) } ?? .ignored
        }
    }

    /// Draws the cells that changed since the last frame, then one `doupdate`.
    func draw(_ buffer: CellBuffer) {
        guard buffer.width == width, buffer.height == height else { return }
        let old = previous
        var scalars: [UInt32] = []
        scalars.reserveCapacity(4)
        for y in 0..<height {
            for x in 0..<width {
                let cell = buffer[x, y]
                guard cell.width > 0 else { continue }
                if let old {
                    let sameHere = old[x, y] == cell
                    let sameNext = cell.width < 2 || old[x + 1, y] == buffer[x + 1, y]
                    if sameHere && sameNext { continue }
                }
                scalars.removeAll(keepingCapacity: true)
                for scalar in cell.character.unicodeScalars.prefix(4) { scalars.append(scalar.value) }
                if !unicode, scalars.contains(where: { $0 > 0x7E }) {
                    // Not a UTF-8 terminal: a glyph it cannot show becomes "?" (wide ones "??") instead of garbage.
                    scalars = [0x3F]
                    if cell.width == 2 { _ = hb_put_cell(Int32(x + 1), Int32(y), scalars, 1, 0, 0) }
                }
                let (attributes, pair) = resolve(cell.style)
                _ = hb_put_cell(Int32(x), Int32(y), scalars, Int32(scalars.count), attributes, pair)
            }
        }
        previous = buffer
        hb_present()
    }

    private func resolve(_ style: CellStyle) -> (Int32, Int32) {
        if let cached = styleCache[style] { return cached }
        var attributes: Int32 = 0
        if style.bold { attributes |= Int32(HB_ATTR_BOLD) }
        if style.reverse { attributes |= Int32(HB_ATTR_REVERSE) }
        if style.underline { attributes |= Int32(HB_ATTR_UNDERLINE) }
        let resolved = (attributes, palette.pair(for: style))
        styleCache[style] = resolved
        return resolved
    }
}

/// One thing read from the keyboard.
enum TerminalInput: Equatable {
    case key(Key)
    case resize(width: Int, height: Int)
    /// A key the dashboard has no use for (function keys).
    case ignored
}
