import Primitives

/// The pure render: (model, snapshot, size, time) → `CellBuffer`. No terminal, no clock, no I/O.
public struct DashboardRenderer: Sendable {
    public var keyMap: KeyMap
    public var validator: PacketRequestValidator
    public var options: RenderOptions

    public init(keyMap: KeyMap = .standard, limits: Limits = .default, options: RenderOptions = RenderOptions()) {
        self.keyMap = keyMap
        self.validator = PacketRequestValidator(limits: limits.packets)
        self.options = options
    }

    /// Draws one frame. Any size is accepted: 0×0 gives an empty buffer; below 80×24 a centred message.
    public func render(model: DashboardModel, snapshot unfiltered: DashboardSnapshot, width: Int, height: Int, now: Timestamp) -> CellBuffer {
        let snapshot = unfiltered.filtered(by: model.filters)
        var buffer = CellBuffer(width: width, height: height)
        buffer.asciiOnly = !options.unicode
        guard buffer.width > 0, buffer.height > 0 else { return buffer }
        if width < DashboardModel.minimumWidth || height < DashboardModel.minimumHeight {
            drawTooSmall(&buffer)
            return finish(buffer)
        }
        // The scenario caption gets its own rows under the header of the panes view.
        let caption = model.view == .panes ? captionRows(snapshot.header, width: width) : 0
        let layout = DashboardLayout(width: width, height: height, captionRows: caption)
        if unfiltered.takenAt == DashboardSnapshot.empty.takenAt {
            // Nothing from the engine yet: a panes view drawn from defaults would show 0 accounts, an empty
            // queue and no workers for a store that holds millions. Say what is happening instead.
            drawHeader(&buffer, layout.header, model: model, snapshot: snapshot, now: now)
            drawStarting(&buffer)
            drawFooter(&buffer, layout.footer, model: model, now: now)
            return finish(buffer)
        }
        switch model.view {
        case .presenter: drawPresenter(&buffer, model: model, snapshot: snapshot, now: now)
        case .compare: drawCompare(&buffer, model: model, snapshot: snapshot, now: now)
        case .panes: drawPanes(&buffer, layout, model: model, snapshot: snapshot, unfiltered: unfiltered, now: now)
        }
        drawFooter(&buffer, layout.footer, model: model, now: now)
        switch model.overlay {
        case .help(let scroll)?: drawHelp(&buffer, scroll: scroll)
        case .form(let form)?: drawForm(&buffer, form)
        case .confirm(let question, _)?: drawConfirm(&buffer, question: question)
        case .commandLine?, .filter?, nil: break
        }
        return finish(buffer)
    }

    private func drawPanes(_ buffer: inout CellBuffer, _ layout: DashboardLayout, model: DashboardModel, snapshot: DashboardSnapshot, unfiltered: DashboardSnapshot, now: Timestamp) {
        drawHeader(&buffer, layout.header, model: model, snapshot: snapshot, now: now)
        drawCaption(&buffer, layout.caption, header: snapshot.header)
        for pane in PaneID.allCases {
            guard let rect = layout.panes[pane] else { continue }
            // Room for the title inside the corners, with the focus marker whether or not it is shown, so
            // that a title does not change as the focus moves.
            let filter = model.filters[pane].map { " /\($0)" } ?? ""
            let title = paneTitle(pane, unfiltered, width: rect.width - 8 - DisplayWidth.of(filter)) + filter
            let inner = drawBox(&buffer, rect, title: title, focused: model.focus == pane)
            // Only the focused pane highlights its row, but every list stays scrolled to its selection: the
            // backend answers the window around it.
            let selected = model.focus == pane ? model.selected(pane) : nil
            switch pane {
            case .accounts: drawAccounts(&buffer, inner, snapshot.accounts, selected: selected, scrollTo: model.selected(.accounts), filter: model.filters[.accounts])
            case .packets: drawPackets(&buffer, inner, snapshot.packets, selected: selected, scrollTo: model.selected(.packets), filter: model.filters[.packets])
            case .queue: drawQueue(&buffer, inner, snapshot.queue, selected: model.selected(.queue), focused: model.focus == .queue)
            case .retries: drawRetries(&buffer, inner, snapshot.retries, selected: selected, scrollTo: model.selected(.retries), filter: model.filters[.retries])
            case .faults: drawFaults(&buffer, inner, snapshot)
            case .events: drawEvents(&buffer, inner, snapshot.events, scrollBack: model.selected(.events))
            }
        }
    }

    /// "3 Credit queue · depth 1,317": the pane's number (its jump key), name and headline figure. The figure is
    /// left out when it does not fit whole in `width` columns: a number cut short ("10,0…") reads as another.
    func paneTitle(_ pane: PaneID, _ snapshot: DashboardSnapshot, width: Int) -> String {
        let figure: String
        switch pane {
        case .accounts: figure = "\(DashboardText.count(snapshot.accounts.totalAccounts)) accounts"
        case .packets: figure = "\(snapshot.packets.open.map(DashboardText.count) ?? dash) open"
        case .queue: figure = "depth \(DashboardText.count(snapshot.queue.depth))"
        case .retries:
            let running = snapshot.retries.workers.filter { $0.state == .running }.count
            figure = "\(running)/\(snapshot.retries.workers.count) workers"
        case .faults: figure = "mode \(snapshot.header.creditMode.rawValue)"
        case .events: figure = "\(DashboardText.count(snapshot.events.count))"
        }
        let name = "\(pane.rawValue) \(pane.title)"
        let whole = "\(name) \(options.unicode ? "·" : "-") \(figure)"
        return DisplayWidth.of(whole) <= width ? whole : name
    }

    /// Without colour, the roles that carry meaning become bold so that they still stand out.
    private func finish(_ buffer: CellBuffer) -> CellBuffer {
        guard !options.color else { return buffer }
        var copy = buffer
        copy.restyle(Rect(x: 0, y: 0, width: copy.width, height: copy.height)) { style in
            switch style.foreground {
            case .error, .warn, .title, .borderFocus, .key: style.bold = true
            default: break
            }
        }
        return copy
    }

    private func drawStarting(_ buffer: inout CellBuffer) {
        let line = DisplayWidth.truncate("starting: waiting for the engine's first figures" + (options.unicode ? "…" : "..."),
                                         to: buffer.width)
        buffer.write(line, x: max(0, (buffer.width - DisplayWidth.of(line)) / 2), y: buffer.height / 2, style: CellStyle(.muted))
    }

    private func drawTooSmall(_ buffer: inout CellBuffer) {
        let lines = [
            "terminal too small: \(buffer.width)×\(buffer.height), need \(DashboardModel.minimumWidth)×\(DashboardModel.minimumHeight)",
            "enlarge the window, or press q to quit",
        ]
        let top = max(0, (buffer.height - lines.count) / 2)
        for (index, line) in lines.enumerated() {
            let fitted = DisplayWidth.truncate(line, to: buffer.width)
            let left = max(0, (buffer.width - DisplayWidth.of(fitted)) / 2)
            buffer.write(fitted, x: left, y: top + index, style: CellStyle(index == 0 ? .warn : .muted, bold: index == 0))
        }
    }

    // MARK: - Drawing helpers

    /// Draws a border with a title; returns the inner rectangle. The focused pane gets a double border and a
    /// `▶` before its title, so focus shows without colour.
    func drawBox(_ buffer: inout CellBuffer, _ rect: Rect, title: String, focused: Bool) -> Rect {
        guard rect.width >= 2, rect.height >= 2 else { return Rect(x: rect.x, y: rect.y, width: 0, height: 0) }
        let glyphs: [Character]
        if options.unicode {
            glyphs = focused ? ["╔", "═", "╗", "║", "╚", "╝"] : ["╭", "─", "╮", "│", "╰", "╯"]
        } else {
            glyphs = focused ? ["#", "=", "#", "|", "#", "#"] : ["+", "-", "+", "|", "+", "+"]
        }
        let style = CellStyle(focused ? .borderFocus : .border, bold: focused)
        let right = rect.maxX - 1
        let bottom = rect.maxY - 1
        for column in rect.x...right {
            buffer.set(x: column, y: rect.y, Cell(character: glyphs[1], style: style))
            buffer.set(x: column, y: bottom, Cell(character: glyphs[1], style: style))
        }
        for row in rect.y...bottom {
            buffer.set(x: rect.x, y: row, Cell(character: glyphs[3], style: style))
            buffer.set(x: right, y: row, Cell(character: glyphs[3], style: style))
        }
        buffer.set(x: rect.x, y: rect.y, Cell(character: glyphs[0], style: style))
        buffer.set(x: right, y: rect.y, Cell(character: glyphs[2], style: style))
        buffer.set(x: rect.x, y: bottom, Cell(character: glyphs[4], style: style))
        buffer.set(x: right, y: bottom, Cell(character: glyphs[5], style: style))
        let label = focused ? (options.unicode ? " ▶ \(title) " : " > \(title) ") : " \(title) "
        buffer.write(label, x: rect.x + 2, y: rect.y, maxWidth: rect.width - 4, style: CellStyle(focused ? .borderFocus : .title, bold: true))
        let inner = rect.inset(by: 1)
        // One column of padding on each side when there is room: text never touches the border.
        return inner.width > 20 ? Rect(x: inner.x + 1, y: inner.y, width: inner.width - 2, height: inner.height) : inner
    }

    /// Writes label/value pairs on one line; returns the column after the last one written.
    @discardableResult
    func writeSegments(_ buffer: inout CellBuffer, _ segments: [(String, CellStyle)], x: Int, y: Int, maxX: Int) -> Int {
        var column = x
        for (text, style) in segments where column < maxX {
            column += buffer.write(text, x: column, y: y, maxWidth: maxX - column, style: style)
        }
        return column
    }

    /// Writes label/value pairs (segments taken two at a time) as far as whole pairs fit: a count is shown
    /// whole or not at all, never cut to "505,8…". Returns the column after the last pair written.
    @discardableResult
    func writeWholePairs(_ buffer: inout CellBuffer, _ segments: [(String, CellStyle)], x: Int, y: Int, maxX: Int) -> Int {
        var column = x
        for start in stride(from: 0, to: segments.count, by: 2) {
            let pair = segments[start..<min(start + 2, segments.count)]
            // The gap that opens a pair ("  grabbed ") may hang past the edge only as trailing blanks.
            let width = pair.reduce(0) { $0 + DisplayWidth.of($1.0) }
            guard column + width <= maxX else { break }
            column = writeSegments(&buffer, Array(pair), x: column, y: y, maxX: maxX)
        }
        return column
    }

    /// Draws a bar filled to `fraction` in `role`, the rest as a muted track; returns the columns used.
    @discardableResult
    func drawBar(_ buffer: inout CellBuffer, _ fraction: Double, x: Int, y: Int, width: Int, role: ColorRole) -> Int {
        let filled = bar(fraction, width: width).trailingSpacesRemoved()
        let used = buffer.write(filled, x: x, y: y, maxWidth: width, style: CellStyle(role))
        let track = String(repeating: options.unicode ? "·" : ".", count: max(0, width - used))
        buffer.write(track, x: x + used, y: y, maxWidth: width - used, style: CellStyle(.muted))
        return width
    }

    /// A horizontal bar of `width` cells filled to `fraction` (0…1), in eighths on UTF-8 terminals.
    func bar(_ fraction: Double, width: Int) -> String {
        guard width > 0 else { return "" }
        let clamped = fraction.isFinite ? min(1, max(0, fraction)) : 0
        if !options.unicode {
            let filled = Int((clamped * Double(width)).rounded())
            return String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        }
        let eighths = Int((clamped * Double(width * 8)).rounded())
        let partials: [Character] = ["▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        var out = String(repeating: "█", count: eighths / 8)
        if eighths % 8 > 0, eighths / 8 < width { out.append(partials[eighths % 8 - 1]) }
        return out + String(repeating: " ", count: max(0, width - DisplayWidth.of(out)))
    }

    /// An amount as shown: "¥1,234.56", or "CNY 1,234.56" where the terminal cannot show "¥" (LANG=C).
    func money(_ amount: Money) -> String {
        options.unicode ? amount.formatted : String(amount.formatted.flatMap { $0 == "¥" ? Array("CNY ") : [$0] })
    }

    var check: String { options.unicode ? "✓" : "ok" }
    var dash: String { options.unicode ? "—" : "-" }
    var times: String { options.unicode ? "×" : "x" }
    var ellipsis: String { options.unicode ? "…" : "..." }
    var cross: String { options.unicode ? "✗" : "X" }
}

extension String {
    func trailingSpacesRemoved() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
