import Primitives

/// A colour as a theme file writes it: `#rrggbb`, one of the 8 named colours (optionally `bright_`), a 0–255
/// palette index, or `default` (the terminal's own colour).
public enum ThemeColor: Sendable, Hashable {
    case terminalDefault
    /// 0–7: black, red, green, yellow, blue, magenta, cyan, white; `bright` adds 8 where supported.
    case named(NamedColor, bright: Bool)
    case indexed(UInt8)
    case rgb(red: UInt8, green: UInt8, blue: UInt8)

    /// The eight ANSI colours, in palette order.
    public enum NamedColor: String, Sendable, Hashable, CaseIterable {
        case black, red, green, yellow, blue, magenta, cyan, white

        /// Index 0–7 in the ANSI palette.
        public var index: Int { NamedColor.allCases.firstIndex(of: self) ?? 0 }
    }

    /// Parses a theme value; `nil` when it is none of the accepted forms.
    public static func parse(_ text: String) -> ThemeColor? {
        let value = text.lowercased()
        if value == "default" || value == "none" { return .terminalDefault }
        if value.hasPrefix("#") {
            let hex = value.dropFirst()
            guard hex.count == 6, hex.allSatisfy(\.isHexDigit), let number = UInt32(hex, radix: 16) else { return nil }
            return .rgb(red: UInt8(number >> 16 & 0xFF), green: UInt8(number >> 8 & 0xFF), blue: UInt8(number & 0xFF))
        }
        if let index = NumberText.wholeNumber(value) { return index <= 255 ? .indexed(UInt8(index)) : nil }
        if value.hasPrefix("bright_"), let named = NamedColor(rawValue: String(value.dropFirst(7))) { return .named(named, bright: true) }
        if let named = NamedColor(rawValue: value) { return .named(named, bright: false) }
        return nil
    }

    /// How the value is written in a theme file.
    public var fileValue: String {
        switch self {
        case .terminalDefault: return "default"
        case .named(let color, let bright): return (bright ? "bright_" : "") + color.rawValue
        case .indexed(let index): return "\(index)"
        case .rgb(let red, let green, let blue):
            return "#" + [red, green, blue].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
    }
}
