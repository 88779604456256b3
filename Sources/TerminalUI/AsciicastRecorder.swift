import Dashboard
import Foundation
import Primitives

/// Writes what the dashboard draws as an asciicast v2 file (the format `asciinema play` replays): a JSON header
/// line, then one `[seconds, "o", text]` line per frame whose text is the ANSI output that turns the previous frame
/// into this one (only the cells that changed, with cursor moves and SGR colours from the theme). Replaying the whole
/// file therefore leaves the terminal showing the last frame. Frames closer together than `minimumInterval` are
/// merged into the next one, which keeps a long session small.
public final class AsciicastRecorder {
    /// Frames closer than this are merged (10 frames a second at most).
    public static let minimumInterval: Int64 = 100

    private let handle: FileHandle
    private var theme: Theme
    private let color: Bool
    private var start: Timestamp?
    private var previous: CellBuffer?
    private var pending: (buffer: CellBuffer, at: Timestamp)?
    private var lastWritten: Int64?
    private var finished = false

    /// Opens (truncating) `path`; the header is written with the first frame, which gives the size.
    public init(path: String, theme: Theme, color: Bool) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw TerminalError.cannotRecord(path)
        }
        self.handle = handle
        self.theme = theme
        self.color = color
    }

    /// Uses another theme; the next frame is written whole.
    public func apply(_ theme: Theme) {
        self.theme = theme
        previous = nil
    }

    /// Records one drawn frame at `time`.
    public func record(_ buffer: CellBuffer, at time: Timestamp) {
        guard !finished else { return }
        if start == nil {
            start = time
            writeLine(Self.header(width: buffer.width, height: buffer.height, at: time))
        }
        pending = (buffer, time)
        if lastWritten.map({ time.millisecondsSinceEpoch - $0 >= Self.minimumInterval }) ?? true { flush() }
    }

    /// Writes the last frame if it is still pending, shows the cursor again and closes the file. Idempotent.
    public func finish() {
        guard !finished else { return }
        flush()
        if let start, let lastWritten {
            writeLine(Self.event(seconds: Double(max(0, lastWritten - start.millisecondsSinceEpoch)) / 1_000, "\u{1B}[0m\u{1B}[?25h"))
        }
        finished = true
        try? handle.close()
    }

    private func flush() {
        guard let (buffer, time) = pending, let start else { return }
        pending = nil
        if let previous, previous.width != buffer.width || previous.height != buffer.height {
            writeLine(Self.event(seconds: Self.seconds(time, since: start), type: "r", "\(buffer.width)x\(buffer.height)"))
            self.previous = nil
        }
        let text = Self.ansi(from: previous, to: buffer, theme: theme, color: color)
        previous = buffer
        lastWritten = time.millisecondsSinceEpoch
        guard !text.isEmpty else { return }
        writeLine(Self.event(seconds: Self.seconds(time, since: start), text))
    }

    private func writeLine(_ line: String) {
        handle.write(Data((line + "\n").utf8))
    }

    static func seconds(_ time: Timestamp, since start: Timestamp) -> Double {
        Double(max(0, time.millisecondsSinceEpoch - start.millisecondsSinceEpoch)) / 1_000
    }

    static func header(width: Int, height: Int, at time: Timestamp) -> String {
        "{\"version\": 2, \"width\": \(width), \"height\": \(height), \"timestamp\": \(time.millisecondsSinceEpoch / 1_000), "
            + "\"title\": \"hongbao\", \"env\": {\"TERM\": \"xterm-256color\"}}"
    }

    static func event(seconds: Double, type: String = "o", _ text: String) -> String {
        let time = String(format: "%.3f", seconds)
        return "[\(time), \"\(type)\", \"\(jsonEscaped(text))\"]"
    }

    static func jsonEscaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// The ANSI text that turns `previous` (or a cleared screen) into `buffer`.
    public static func ansi(from previous: CellBuffer?, to buffer: CellBuffer, theme: Theme, color: Bool) -> String {
        var out = ""
        let base = previous ?? CellBuffer(width: buffer.width, height: buffer.height)
        if previous == nil { out += "\u{1B}[?25l\u{1B}[0m\u{1B}[H\u{1B}[2J" }
        var cursor: (x: Int, y: Int)? = nil
        var current: CellStyle? = previous == nil ? .plain : nil
        for y in 0..<buffer.height {
            for x in 0..<buffer.width {
                let cell = buffer[x, y]
                guard cell.width > 0 else { continue }
                if base[x, y] == cell && (cell.width < 2 || base[x + 1, y] == buffer[x + 1, y]) { continue }
                if cursor == nil || cursor! != (x, y) { out += "\u{1B}[\(y + 1);\(x + 1)H" }
                if current != cell.style {
                    out += sgr(cell.style, theme: theme, color: color)
                    current = cell.style
                }
                out.append(cell.character)
                cursor = (x + Int(cell.width), y)
            }
        }
        if !out.isEmpty && current != .plain { out += "\u{1B}[0m" }
        return out
    }

    /// Select Graphic Rendition for a style: attributes always, colours when `color`.
    static func sgr(_ style: CellStyle, theme: Theme, color: Bool) -> String {
        var codes = ["0"]
        if style.bold { codes.append("1") }
        if style.underline { codes.append("4") }
        if style.reverse { codes.append("7") }
        if color {
            if let foreground = code(theme[style.foreground], background: false) { codes.append(foreground) }
            if let background = code(theme[style.background], background: true) { codes.append(background) }
        }
        return "\u{1B}[" + codes.joined(separator: ";") + "m"
    }

    static func code(_ color: ThemeColor, background: Bool) -> String? {
        switch color {
        case .terminalDefault: return nil
        case .named(let named, let bright): return "\((bright ? 90 : 30) + (background ? 10 : 0) + named.index)"
        case .indexed(let index): return "\(background ? 48 : 38);5;\(index)"
        case .rgb(let red, let green, let blue): return "\(background ? 48 : 38);2;\(red);\(green);\(blue)"
        }
    }
}
