import Primitives

extension DashboardRenderer {
    /// The lines of the help overlay, generated from the key map (and the command-line usages).
    public func helpLines() -> [(key: String, text: String, isHeading: Bool)] {
        var lines: [(String, String, Bool)] = []
        for context in KeyContext.allCases {
            let bindings = keyMap.bindings.filter { $0.context == context }
            guard !bindings.isEmpty else { continue }
            if !lines.isEmpty { lines.append(("", "", false)) }
            lines.append((context.rawValue, "", true))
            for binding in bindings { lines.append((binding.label, binding.description, false)) }
        }
        lines.append(("", "", false))
        lines.append(("Command line (:)", "", true))
        for usage in CommandLineParser.usages { lines.append(("", usage.usage, false)) }
        return lines
    }

    /// A centred, bordered, cleared box; returns its inner rectangle.
    func drawDialog(_ buffer: inout CellBuffer, width: Int, height: Int, title: String) -> Rect {
        let boxWidth = min(width, buffer.width - 2)
        let boxHeight = min(height, buffer.height - 2)
        let rect = Rect(x: (buffer.width - boxWidth) / 2, y: (buffer.height - boxHeight) / 2, width: boxWidth, height: boxHeight)
        buffer.fill(rect, style: .plain)
        return drawBox(&buffer, rect, title: title, focused: true)
    }

    func drawHelp(_ buffer: inout CellBuffer, scroll: Int) {
        let lines = helpLines()
        let columnsWanted = buffer.width >= 110 ? 2 : 1
        let perColumn = (lines.count + columnsWanted - 1) / columnsWanted
        let columnWidth = min(60, max(40, (buffer.width - 8) / columnsWanted - 2))
        let inner = drawDialog(&buffer, width: columnsWanted * (columnWidth + 2) + 2, height: perColumn + 4,
                               title: "Help — keys (Esc closes, j/k scroll)")
        guard !inner.isEmpty else { return }
        let rows = inner.height - 1
        let maxScroll = max(0, perColumn - rows)
        let offset = min(scroll, maxScroll)
        for column in 0..<columnsWanted {
            let start = column * perColumn + offset
            let slice = lines.dropFirst(start).prefix(min(rows, perColumn - offset))
            let x = inner.x + 1 + column * (columnWidth + 2)
            for (row, line) in slice.enumerated() {
                let y = inner.y + row
                if line.isHeading {
                    buffer.write(line.key, x: x, y: y, maxWidth: columnWidth, style: CellStyle(.title, bold: true, underline: true))
                } else if line.key.isEmpty {
                    buffer.write("  " + line.text, x: x, y: y, maxWidth: columnWidth, style: CellStyle(.muted))
                } else {
                    buffer.write(DisplayWidth.fit(line.key, to: 12), x: x, y: y, maxWidth: columnWidth, style: CellStyle(.key, bold: true))
                    buffer.write(line.text, x: x + 13, y: y, maxWidth: columnWidth - 13, style: CellStyle(.text))
                }
            }
        }
        let more = offset < maxScroll ? "  more below (j)" : ""
        buffer.write("? or Esc to close\(more)", x: inner.x + 1, y: inner.maxY - 1, maxWidth: inner.width - 1, style: CellStyle(.muted))
    }

    func drawForm(_ buffer: inout CellBuffer, _ form: SendForm) {
        let fields = form.visibleFields
        let inner = drawDialog(&buffer, width: 62, height: fields.count + 6, title: "Send a red packet")
        guard !inner.isEmpty else { return }
        let labelWidth = 11
        for (row, field) in fields.enumerated() where inner.y + row < inner.maxY {
            let y = inner.y + row
            let focused = form.focused == field
            let error = form.error(for: field, validator: validator)
            buffer.write((focused ? (options.unicode ? "▸ " : "> ") : "  ") + field.label, x: inner.x, y: y, maxWidth: labelWidth + 2,
                         style: CellStyle(focused ? .accent : .muted, bold: focused))
            var value = form.value(of: field)
            if field == .kind { value = options.unicode ? "◀ \(value) ▶" : "< \(value) >" }
            if focused && field != .kind { value += options.unicode ? "▏" : "_" }
            let valueX = inner.x + labelWidth + 2
            let valueWidth = inner.width - labelWidth - 6
            buffer.write(DisplayWidth.fit(value, to: valueWidth), x: valueX, y: y, maxWidth: valueWidth,
                         style: CellStyle(.text, bold: focused, underline: focused))
            let mark = error == nil ? (form.value(of: field).isEmpty ? "" : check) : cross
            buffer.write(mark, x: inner.maxX - 2, y: y, style: CellStyle(error == nil ? .ok : .error, bold: true))
        }
        let messageY = inner.y + fields.count + 1
        if let (field, message) = form.firstError(validator: validator) {
            buffer.write("\(cross) \(field.label): \(message)", x: inner.x + 1, y: messageY, maxWidth: inner.width - 2,
                         style: CellStyle(.error, bold: true))
        } else {
            let limit = form.kind == .personal ? validator.limits.maxPersonalAmount : validator.limits.maxGroupAmount
            buffer.write("up to \(money(limit)); \(validator.limits.minShares)–\(validator.limits.maxShares) shares of at least \(money(validator.limits.minShare))",
                         x: inner.x + 1, y: messageY, maxWidth: inner.width - 2, style: CellStyle(.muted))
        }
        let help = options.unicode ? "Enter send · Tab/↑↓ field · ←→ kind · Esc cancel" : "Enter send - Tab field - <> kind - Esc cancel"
        buffer.write(help, x: inner.x + 1, y: messageY + 1, maxWidth: inner.width - 2, style: CellStyle(.muted))
    }

    func drawConfirm(_ buffer: inout CellBuffer, question: String) {
        let width = min(max(48, DisplayWidth.of(question) + 10), buffer.width - 4)
        let inner = drawDialog(&buffer, width: width, height: 6, title: "Confirm")
        guard !inner.isEmpty else { return }
        buffer.write("! " + question, x: inner.x + 1, y: inner.y, maxWidth: inner.width - 2, style: CellStyle(.warn, bold: true))
        writeSegments(&buffer, [
            (" y ", CellStyle(.error, bold: true, reverse: true)), (" yes, do it    ", CellStyle(.text)),
            (" N ", CellStyle(.ok, bold: true, reverse: true)), (" no (any other key)", CellStyle(.text)),
        ], x: inner.x + 1, y: inner.y + 2, maxX: inner.maxX)
    }
}
