/// A key press, decoded by the terminal layer into something the pure update understands.
public enum Key: Sendable, Hashable {
    /// A printable character (including CJK input).
    case character(Character)
    /// Ctrl plus a letter: `.control("c")` is Ctrl-C.
    case control(Character)
    case up, down, left, right
    case tab, backTab
    case enter, escape, backspace, delete
    case pageUp, pageDown, home, end

    /// How the help overlay and the footer spell the key.
    public var label: String {
        switch self {
        case .character(" "): return "Space"
        case .character(let character): return String(character)
        case .control(let letter): return "Ctrl-\(letter.uppercased())"
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .tab: return "Tab"
        case .backTab: return "S-Tab"
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .backspace: return "Bksp"
        case .delete: return "Del"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        }
    }
}
