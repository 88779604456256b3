import CNCursesShim
import Dashboard

/// Turns the shim's key kinds and characters into `Key`s.
enum KeyDecoder {
    static func decode(kind: hb_key_kind, character: UInt32) -> Key? {
        switch kind {
        case HB_KEY_UP: return .up
        case HB_KEY_DOWN: return .down
        case HB_KEY_LEFT: return .left
        case HB_KEY_RIGHT: return .right
        case HB_KEY_BACKTAB: return .backTab
        case HB_KEY_BACKSPACE: return .backspace
        case HB_KEY_ENTER: return .enter
        case HB_KEY_DELETE: return .delete
        case HB_KEY_PAGE_UP: return .pageUp
        case HB_KEY_PAGE_DOWN: return .pageDown
        case HB_KEY_HOME: return .home
        case HB_KEY_END: return .end
        case HB_KEY_CHARACTER: return decodeCharacter(character)
        default: return nil
        }
    }

    /// The scalar `bytes` spell once they form a whole UTF-8 sequence (and then empties `bytes`); `nil` while more
    /// bytes are due. A byte that cannot start or continue a sequence is dropped.
    static func decodeUTF8(_ bytes: inout [UInt8]) -> Unicode.Scalar? {
        guard let first = bytes.first else { return nil }
        let length = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1
        guard length > 1 else {
            bytes = []
            return nil
        }
        guard bytes.count >= length else { return nil }
        defer { bytes = [] }
        var decoder = UTF8()
        var iterator = bytes.prefix(length).makeIterator()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) { return scalar }
        return nil
    }

    static func decodeCharacter(_ code: UInt32) -> Key? {
        switch code {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 1...26:
            guard let scalar = Unicode.Scalar(code + 96) else { return nil }
            return .control(Character(scalar))
        default:
            guard code >= 32, let scalar = Unicode.Scalar(code) else { return nil }
            return .character(Character(scalar))
        }
    }
}
