import Primitives

/// The scenario's caption and the PAUSED badge: their own lines under the header, wrapped, never sharing a line
/// with the numbers. Kept apart from the rest of the header so that other views can place the same piece.
extension DashboardRenderer {
    /// Caption lines shown at most on the dashboard; a longer caption ends in `…`.
    public static let maximumCaptionRows = 2
    /// Caption lines shown at most on the stage views (side by side, presenter), which have the room.
    public static let maximumStageCaptionRows = 4

    /// The rows the caption area needs at `width`: 0 when no scenario caption is shown and play is not paused.
    public func captionRows(_ header: HeaderStats, width: Int, maxRows: Int = maximumCaptionRows) -> Int {
        captionLines(header, width: width, maxRows: maxRows).count
    }

    /// The caption wrapped to `width` columns after the badge, at most `maxRows` lines.
    public func captionLines(_ header: HeaderStats, width: Int, maxRows: Int = maximumCaptionRows) -> [String] {
        let caption = header.caption ?? ""
        guard !caption.isEmpty || header.scenarioPaused, width > 0 else { return [] }
        let available = max(1, width - DisplayWidth.of(badge(header)) - 1)
        let lines = Self.wrap(caption, width: available)
        let maxRows = max(1, maxRows)
        guard lines.count > maxRows else { return lines.isEmpty ? [""] : lines }
        var kept = Array(lines.prefix(maxRows))
        kept[kept.count - 1] = DisplayWidth.truncate(kept[kept.count - 1] + " " + lines[maxRows], to: available)
        return kept
    }

    /// Draws the caption area into `rect` (its height from `captionRows`).
    public func drawCaption(_ buffer: inout CellBuffer, _ rect: Rect, header: HeaderStats, maxRows: Int = maximumCaptionRows) {
        guard !rect.isEmpty else { return }
        buffer.fill(rect, style: CellStyle(.text, background: .headerBackground))
        let badge = badge(header)
        buffer.write(badge, x: rect.x, y: rect.y, style: header.scenarioPaused
            ? CellStyle(.warn, background: .headerBackground, bold: true, reverse: true)
            : CellStyle(.accent, background: .headerBackground, bold: true))
        let left = rect.x + DisplayWidth.of(badge) + 1
        for (index, line) in captionLines(header, width: rect.width, maxRows: maxRows).enumerated() where index < rect.height {
            buffer.write(line, x: left, y: rect.y + index, maxWidth: rect.maxX - left,
                         style: CellStyle(.accent, background: .headerBackground, bold: true))
        }
    }

    private func badge(_ header: HeaderStats) -> String {
        if header.scenarioPaused { return options.unicode ? " ⏸ PAUSED (space resumes) " : " || PAUSED (space resumes) " }
        return options.unicode ? " ▸" : " >"
    }

    /// Words to lines of at most `width` columns; a word longer than a line (CJK has no spaces) is cut across lines.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        func flush() {
            if !line.isEmpty { lines.append(line) }
            line = ""
        }
        for word in text.split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            let candidate = line.isEmpty ? word : line + " " + word
            if DisplayWidth.of(candidate) <= width {
                line = candidate
                continue
            }
            flush()
            var rest = Substring(word)
            while DisplayWidth.of(String(rest)) > width {
                var piece = ""
                while let next = rest.first, DisplayWidth.of(piece) + DisplayWidth.of(next) <= width {
                    piece.append(next)
                    rest = rest.dropFirst()
                }
                if piece.isEmpty { piece.append(rest.removeFirst()) }
                lines.append(piece)
            }
            line = String(rest)
        }
        flush()
        return lines
    }
}
