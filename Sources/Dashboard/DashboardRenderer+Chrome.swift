import Primitives

extension DashboardRenderer {
    /// Two header lines: identity and health on the first, throughput and injected faults on the second.
    /// Each line is a list of groups with priorities; on narrow screens the least important groups go first,
    /// so nothing is cut in the middle.
    func drawHeader(_ buffer: inout CellBuffer, _ rect: Rect, model: DashboardModel, snapshot: DashboardSnapshot, now: Timestamp) {
        buffer.fill(rect, style: CellStyle(.text, background: .headerBackground))
        let header = snapshot.header
        let label = CellStyle(.muted, background: .headerBackground)
        let value = CellStyle(.text, background: .headerBackground, bold: true)

        var left: [HeaderGroup] = [
            HeaderGroup(0, [(options.unicode ? " HONGBAO 红包 " : " HONGBAO ", CellStyle(.accent, background: .headerBackground, bold: true, reverse: true))]),
            HeaderGroup(1, [("  mode ", label), (header.creditMode.rawValue, CellStyle(.accent, background: .headerBackground, bold: true))]),
            HeaderGroup(3, [("  durability ", label), (header.durability ?? dash, value)]),
            HeaderGroup(2, [("  up ", label), (header.startedAt.map { DashboardText.uptime(now - $0) } ?? dash, value)]),
        ]
        if model.frozen {
            left.append(HeaderGroup(0, [("  ", label), (" FROZEN ", CellStyle(.warn, background: .headerBackground, bold: true, reverse: true))]))
        }
        let conservation: HeaderGroup
        switch header.conservation {
        case .ok: conservation = HeaderGroup(0, [("conservation ", label), (options.unicode ? "✓ balanced" : "balanced", CellStyle(.ok, background: .headerBackground, bold: true))])
        case .unknown: conservation = HeaderGroup(0, [("conservation ", label), ("? checking", label)])
        case .violated(let message):
            conservation = HeaderGroup(0, [("conservation ", label), (" \(cross) VIOLATED: \(message) ", CellStyle(.error, background: .headerBackground, bold: true, reverse: true))])
        }
        let right = [conservation, HeaderGroup(4, [("  \(DashboardText.timeOfDay(now)) UTC ", label)])]
        drawGroupLine(&buffer, left: left, right: right, y: rect.y, rect: rect)

        guard rect.height > 1 else { return }
        let faults = snapshot.faults
        let failureStyle = CellStyle(faults.creditFailurePercent > 0 ? .error : .ok, background: .headerBackground, bold: true)
        let latencyStyle = CellStyle(faults.ledgerLatencyMilliseconds > 0 ? .warn : .ok, background: .headerBackground, bold: true)
        let p99Style = CellStyle((header.openLatencyP99 ?? .zero) > .milliseconds(250) ? .warn : .text, background: .headerBackground, bold: true)
        let separator = options.unicode ? "  │ " : "  | "
        let gala = faults.loadRunning
            ? (options.unicode ? "▶ " : "> ") + "\(DashboardText.count(faults.loadRatePerSecond))/s"
            : (options.unicode ? "■ off" : "# off")
        var second: [HeaderGroup] = [
            HeaderGroup(0, [(" opens/s ", label), (DashboardText.rate(header.opensPerSecond), value)]),
            HeaderGroup(1, [("  credits/s ", label), (DashboardText.rate(header.creditsPerSecond), value)]),
            HeaderGroup(3, [("  p50 ", label), (header.openLatencyP50.map(DashboardText.duration) ?? dash, value)]),
            HeaderGroup(2, [("  p99 ", label), (header.openLatencyP99.map(DashboardText.duration) ?? dash, p99Style)]),
            HeaderGroup(1, [(separator + "fail ", label), ("\(faults.creditFailurePercent)%", failureStyle)]),
            HeaderGroup(2, [("  account latency ", label), ("+\(faults.ledgerLatencyMilliseconds) ms", latencyStyle)]),
            HeaderGroup(2, [("  gala ", label), (gala, CellStyle(faults.loadRunning ? .accent : .muted, background: .headerBackground, bold: faults.loadRunning))]),
        ]
        // The scenario caption has its own lines (DashboardRenderer+Caption), never this one.
        let fps = model.measuredFramesPerSecond.map { " · \($0) fps" } ?? ""
        second.append(HeaderGroup(5, [("  refresh \(model.refreshMilliseconds)ms\(fps) · theme \(model.themeName)", label)]))
        drawGroupLine(&buffer, left: second, right: [], y: rect.y + 1, rect: rect)
    }

    /// Drops the least important groups until the line fits, then writes left groups from the left edge and
    /// right groups against the right edge.
    func drawGroupLine(_ buffer: inout CellBuffer, left: [HeaderGroup], right: [HeaderGroup], y: Int, rect: Rect) {
        var shown = left.map { ($0, true) } + right.map { ($0, true) }
        func total() -> Int { shown.filter(\.1).reduce(0) { $0 + $1.0.width } }
        while total() > rect.width - 1 {
            guard let worst = shown.indices.filter({ shown[$0].1 && shown[$0].0.priority > 0 })
                .max(by: { shown[$0].0.priority < shown[$1].0.priority || (shown[$0].0.priority == shown[$1].0.priority && $0 > $1) })
            else { break }
            shown[worst].1 = false
        }
        var column = rect.x
        for (group, visible) in shown.prefix(left.count) where visible {
            column = writeSegments(&buffer, group.segments, x: column, y: y, maxX: rect.maxX)
        }
        let rightWidth = shown.dropFirst(left.count).filter(\.1).reduce(0) { $0 + $1.0.width }
        var rightColumn = max(column + 1, rect.maxX - rightWidth)
        for (group, visible) in shown.dropFirst(left.count) where visible {
            rightColumn = writeSegments(&buffer, group.segments, x: rightColumn, y: y, maxX: rect.maxX)
        }
    }

    /// The key map in the footer's order: help and quit, then the keys of the focused pane (the queue pane's
    /// fault keys, which would otherwise fall off the end of the line), then the rest.
    func footerOrder(focus: PaneID) -> [KeyBinding] {
        let first: (KeyBinding) -> Bool = { $0.action == .help || $0.action == .quit }
        let focused: (KeyBinding) -> Bool = { focus == .queue && $0.context == .queue }
        return keyMap.bindings.filter(first) + keyMap.bindings.filter { !first($0) && focused($0) }
            + keyMap.bindings.filter { !first($0) && !focused($0) }
    }

    /// The bottom line: the `:` prompt, or the status message and key hints.
    func drawFooter(_ buffer: inout CellBuffer, _ rect: Rect, model: DashboardModel, now: Timestamp) {
        let base = CellStyle(.text, background: .footerBackground)
        buffer.fill(rect, style: base)
        let promptText: String?
        switch model.overlay {
        case .commandLine(let text, _)?: promptText = ":" + text
        case .filter(let text)?: promptText = "/" + text
        default: promptText = nil
        }
        if let prompt = promptText {
            let shown = DisplayWidth.of(prompt) < rect.width - 1 ? prompt : "…" + String(prompt.suffix(max(1, rect.width / 2)))
            let end = buffer.write(shown, x: rect.x, y: rect.y, maxWidth: rect.width - 1, style: base.bolded)
            buffer.write(options.unicode ? "█" : "_", x: rect.x + end, y: rect.y, style: CellStyle(.accent, background: .footerBackground))
            return
        }
        var column = rect.x
        if let status = model.status, status.expiresAt > now {
            let (glyph, role): (String, ColorRole) = switch status.severity {
            case .info: (options.unicode ? "·" : "-", .text)
            case .success: (check, .ok)
            case .error: (cross, .error)
            }
            column += buffer.write(" \(glyph) \(status.text) ", x: column, y: rect.y, maxWidth: rect.width * 3 / 5,
                                   style: CellStyle(role, background: .footerBackground, bold: true, reverse: status.severity == .error))
            column += 1
        }
        if model.pendingCommands > 0 {
            column += buffer.write("(\(model.pendingCommands) pending) ", x: column, y: rect.y, maxWidth: rect.maxX - column,
                                   style: CellStyle(.muted, background: .footerBackground))
        }
        for binding in footerOrder(focus: model.focus) {
            guard let hint = binding.hint, let key = binding.keys.first else { continue }
            let need = DisplayWidth.of(key.label) + DisplayWidth.of(hint) + 2
            guard column + need <= rect.maxX else { break }
            column += buffer.write(" \(key.label)", x: column, y: rect.y, style: CellStyle(.key, background: .footerBackground, bold: true))
            column += buffer.write(" \(hint)", x: column, y: rect.y, style: CellStyle(.muted, background: .footerBackground))
        }
    }
}

extension String {
    /// Replaces the few non-ASCII glyphs of the header with ASCII for non-UTF-8 terminals.
    func replacingGlyphsForASCII() -> String {
        var out = ""
        for character in self {
            switch character {
            case "│": out.append("|")
            case "▶", "▸": out.append(">")
            case "■": out.append("#")
            case "·": out.append("-")
            default: out.append(character)
            }
        }
        return out
    }
}

/// A piece of a header line that is shown whole or not at all; lower priority numbers stay longest.
struct HeaderGroup {
    var priority: Int
    var segments: [(String, CellStyle)]

    init(_ priority: Int, _ segments: [(String, CellStyle)]) {
        self.priority = priority
        self.segments = segments
    }

    var width: Int { segments.reduce(0) { $0 + DisplayWidth.of($1.0) } }
}
