import Primitives

extension DashboardRenderer {
    /// Two header lines: identity and health on the first, throughput and injected faults on the second.
    func drawHeader(_ buffer: inout CellBuffer, _ rect: Rect, model: DashboardModel, snapshot: DashboardSnapshot, now: Timestamp) {
        let base = CellStyle(.text, background: .headerBackground)
        buffer.fill(rect, style: base)
        let header = snapshot.header
        let maxX = rect.maxX - 1
        let label = CellStyle(.muted, background: .headerBackground)
        let value = CellStyle(.text, background: .headerBackground, bold: true)

        var left: [(String, CellStyle)] = [
            (options.unicode ? " HONGBAO 红包 " : " HONGBAO ", CellStyle(.accent, background: .headerBackground, bold: true, reverse: true)),
            ("  mode ", label), (header.creditMode.rawValue, CellStyle(.accent, background: .headerBackground, bold: true)),
            ("  durability ", label), (header.durability, value),
            ("  up ", label), (DashboardText.uptime(now - header.startedAt), value),
        ]
        if model.frozen {
            left.append(("  ", base))
            left.append((" FROZEN ", CellStyle(.warn, background: .headerBackground, bold: true, reverse: true)))
        }
        let conservation: [(String, CellStyle)]
        switch header.conservation {
        case .ok: conservation = [("conservation ", label), ("\(check) balanced", CellStyle(.ok, background: .headerBackground, bold: true))]
        case .unknown: conservation = [("conservation ", label), ("? checking", CellStyle(.muted, background: .headerBackground))]
        case .violated(let message):
            conservation = [("conservation ", label), (" \(cross) VIOLATED: \(message) ", CellStyle(.error, background: .headerBackground, bold: true, reverse: true))]
        }
        let clock = "  \(DashboardText.timeOfDay(now)) UTC "
        let rightWidth = conservation.reduce(0) { $0 + DisplayWidth.of($1.0) } + DisplayWidth.of(clock)
        let leftEnd = writeSegments(&buffer, left, x: rect.x, y: rect.y, maxX: max(rect.x, maxX - rightWidth))
        let rightStart = max(leftEnd + 1, rect.maxX - rightWidth)
        let afterConservation = writeSegments(&buffer, conservation, x: rightStart, y: rect.y, maxX: rect.maxX)
        buffer.write(clock, x: afterConservation, y: rect.y, maxWidth: rect.maxX - afterConservation, style: label)

        guard rect.height > 1 else { return }
        let faults = snapshot.faults
        let failureStyle = CellStyle(faults.creditFailurePercent > 0 ? .error : .ok, background: .headerBackground, bold: true)
        let latencyStyle = CellStyle(faults.ledgerLatencyMilliseconds > 0 ? .warn : .ok, background: .headerBackground, bold: true)
        var second: [(String, CellStyle)] = [
            (" opens/s ", label), (DashboardText.rate(header.opensPerSecond), value),
            ("  credits/s ", label), (DashboardText.rate(header.creditsPerSecond), value),
            ("  p50 ", label), (DashboardText.duration(header.openLatencyP50), value),
            ("  p99 ", label), (DashboardText.duration(header.openLatencyP99), CellStyle(header.openLatencyP99 > .milliseconds(250) ? .warn : .text, background: .headerBackground, bold: true)),
            ("  │ ", label),
            ("fail ", label), ("\(faults.creditFailurePercent)%", failureStyle),
            ("  ledger ", label), ("+\(faults.ledgerLatencyMilliseconds)ms", latencyStyle),
            ("  gala ", label),
            (faults.loadRunning ? "▶ \(DashboardText.count(faults.loadRatePerSecond))/s" : "■ off",
             CellStyle(faults.loadRunning ? .accent : .muted, background: .headerBackground, bold: faults.loadRunning)),
        ]
        if !options.unicode { second = second.map { ($0.0.replacingGlyphsForASCII(), $0.1) } }
        let secondEnd = writeSegments(&buffer, second, x: rect.x, y: rect.y + 1, maxX: maxX)
        let trailer: String
        if let caption = header.caption {
            trailer = "  ▸ \(caption)"
        } else {
            trailer = "  \(1_000 / max(1, model.refreshMilliseconds)) fps · theme \(model.themeName)"
        }
        buffer.write(options.unicode ? trailer : trailer.replacingGlyphsForASCII(), x: secondEnd, y: rect.y + 1,
                     maxWidth: rect.maxX - secondEnd, style: header.caption == nil ? label : CellStyle(.accent, background: .headerBackground, bold: true))
    }

    /// The bottom line: the `:` prompt, or the status message and key hints.
    func drawFooter(_ buffer: inout CellBuffer, _ rect: Rect, model: DashboardModel, now: Timestamp) {
        let base = CellStyle(.text, background: .footerBackground)
        buffer.fill(rect, style: base)
        if case .commandLine(let text, _)? = model.overlay {
            let prompt = ":" + text
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
        for binding in keyMap.bindings {
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
