import CNCursesShim
import Dashboard

/// Maps theme colours to what the terminal has: direct colour, the 256-colour palette (greys to 232–255, the rest
/// to the 6×6×6 cube), 16 or 8 colours, or none. Pure except for `pair(for:)`, which allocates ncurses pairs.
final class ColorPalette {
    let colors: Int
    private let theme: Theme
    private var pairs: [PairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private let maxPairs: Int32

    private struct PairKey: Hashable {
        var foreground: Int32
        var background: Int32
    }

    init(theme: Theme, colors: Int, colorPairs: Int) {
        self.theme = theme
        self.colors = colors
        self.maxPairs = Int32(min(colorPairs, 32_767))
    }

    /// The ncurses pair for a style's colours (0, the terminal default, when colour is off or pairs ran out).
    func pair(for style: CellStyle) -> Int32 {
        guard colors > 0 else { return 0 }
        let (foreground, background) = numbers(for: style)
        let key = PairKey(foreground: foreground, background: background)
        if key.foreground == -1 && key.background == -1 { return 0 }
        if let pair = pairs[key] { return pair }
        guard nextPair < maxPairs else { return 0 }
        let pair = nextPair
        nextPair += 1
        _ = hb_init_pair(pair, key.foreground, key.background)
        pairs[key] = pair
        return pair
    }

    /// The colour numbers a style is drawn with: the theme's, made readable where the terminal's few colours
    /// would otherwise draw text in its own background colour (grey on a dark bar at 8 colours), or the terminal's
    /// own text colour on a bar the theme coloured (which may be the bar's colour on another terminal).
    func numbers(for style: CellStyle) -> (foreground: Int32, background: Int32) {
        let foreground = Self.number(theme[style.foreground], colors: colors)
        let background = Self.number(theme[style.background], colors: colors)
        guard background != -1, foreground == -1 || foreground == background else { return (foreground, background) }
        return (Self.contrasting(background, colors: colors), background)
    }

    /// Black on a light colour, white (bright at 16 colours and more) on a dark one.
    static func contrasting(_ background: Int32, colors: Int) -> Int32 {
        let (red, green, blue): (Int, Int, Int)
        if colors >= 0x1000000 && background > 255 {
            (red, green, blue) = (Int(background >> 16 & 0xFF), Int(background >> 8 & 0xFF), Int(background & 0xFF))
        } else {
            (red, green, blue) = rgb(ofPaletteIndex: Int(background))
        }
        let light = red * 299 + green * 587 + blue * 114 > 128_000
        if light { return 0 }
        return colors >= 16 ? 15 : 7
    }

    /// The ncurses colour number for a theme colour given `colors` available (-1: terminal default).
    static func number(_ color: ThemeColor, colors: Int) -> Int32 {
        switch color {
        case .terminalDefault:
            return -1
        case .named(let named, let bright):
            return Int32(named.index + (bright && colors >= 16 ? 8 : 0))
        case .indexed(let index):
            if Int(index) < colors { return Int32(index) }
            let (red, green, blue) = rgb(ofPaletteIndex: Int(index))
            return nearestBasic(red: red, green: green, blue: blue, colors: colors)
        case .rgb(let red, let green, let blue):
            if colors >= 0x1000000 { return Int32(red) << 16 | Int32(green) << 8 | Int32(blue) }
            if colors >= 256 { return xterm256(red: Int(red), green: Int(green), blue: Int(blue)) }
            return nearestBasic(red: Int(red), green: Int(green), blue: Int(blue), colors: colors)
        }
    }

    static func xterm256(red: Int, green: Int, blue: Int) -> Int32 {
        let high = max(red, green, blue)
        let low = min(red, green, blue)
        if high - low < 12 {
            let grey = (red + green + blue) / 3
            if grey < 8 { return 16 }
            if grey > 238 { return 231 }
            return Int32(232 + min(23, (grey - 8 + 5) / 10))
        }
        func level(_ value: Int) -> Int { value < 48 ? 0 : (value < 115 ? 1 : (value - 35) / 40) }
        return Int32(16 + 36 * level(red) + 6 * level(green) + level(blue))
    }

    static func nearestBasic(red: Int, green: Int, blue: Int, colors: Int) -> Int32 {
        let high = max(red, green, blue)
        let low = min(red, green, blue)
        if high - low < 40 {
            if high < 64 { return 0 }
            // A mid grey is bright black where there are 16 colours; with 8 it is white, not black: black text
            // vanishes on the dark backgrounds most terminals have.
            if high < 192 { return colors >= 16 ? 8 : (high >= 0x60 ? 7 : 0) }
            return 7
        }
        let threshold = (high + low) / 2
        let index = (red > threshold ? 1 : 0) | (green > threshold ? 2 : 0) | (blue > threshold ? 4 : 0)
        return Int32(index)
    }

    static func rgb(ofPaletteIndex index: Int) -> (Int, Int, Int) {
        if index < 16 {
            let base = index % 8
            let intensity = index >= 8 ? 255 : 170
            return ((base & 1) != 0 ? intensity : 0, (base & 2) != 0 ? intensity : 0, (base & 4) != 0 ? intensity : 0)
        }
        if index >= 232 {
            let grey = 8 + (index - 232) * 10
            return (grey, grey, grey)
        }
        let cube = index - 16
        func value(_ level: Int) -> Int { level == 0 ? 0 : 55 + level * 40 }
        return (value(cube / 36), value(cube / 6 % 6), value(cube % 6))
    }
}
