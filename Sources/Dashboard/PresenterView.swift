import Primitives

/// The presenter view, for projectors: the three numbers that carry the argument (opens per second, users who saw
/// an error, money on its way) in big block digits, the scenario's caption under them, and the replicas as large
/// tiles. Everything that matters is also a word or an attribute, so it survives 8 colours and `NO_COLOR`.
extension DashboardRenderer {
    /// One big number: what it is, its spellings from the most to the least precise, and its colour.
    struct StageFigure {
        var label: String
        var spellings: [String]
        var role: ColorRole
    }

    func presenterFigures(_ snapshot: DashboardSnapshot) -> [StageFigure] {
        let failures = snapshot.failures.queue.userVisibleFailures + snapshot.failures.transaction.userVisibleFailures
        // Not counted yet: a dash in the digits and no count in the label, rather than ¥0.00 and 0 credits.
        let waiting = snapshot.accounts.totalWaitingAmount
        let credits = snapshot.accounts.totalWaitingCredits.map { " (\(DashboardText.count($0)) credits)" } ?? ""
        return [
            StageFigure(label: "opens per second", spellings: Self.rateSpellings(snapshot.header.opensPerSecond), role: .graph),
            StageFigure(label: "users who saw an error", spellings: Self.countSpellings(failures), role: failures > 0 ? .error : .ok),
            StageFigure(label: "money on its way\(credits)",
                        spellings: waiting.map(Self.moneySpellings) ?? ["-"], role: .money),
        ]
    }

    func drawPresenter(_ buffer: inout CellBuffer, model: DashboardModel, snapshot: DashboardSnapshot, now: Timestamp) {
        let width = buffer.width
        let footerY = buffer.height - 1
        drawStageTitle(&buffer, title: "presenter view", model: model, snapshot: snapshot, now: now)
        let tall = buffer.height >= 36
        let tileRows = tall ? 5 : 3
        let tilesY = footerY - 1 - tileRows
        let figures = presenterFigures(snapshot)
        var y = 2
        if tall {
            // One number per band: label, then the digits, centred.
            for figure in figures {
                drawFigure(&buffer, figure, rect: Rect(x: 2, y: y, width: width - 4, height: BigDigits.height + 1))
                y += BigDigits.height + 2
            }
        } else {
            let columnWidth = (width - 2) / figures.count
            for (index, figure) in figures.enumerated() {
                drawFigure(&buffer, figure, rect: Rect(x: 1 + index * columnWidth, y: y, width: columnWidth - 1, height: BigDigits.height + 1))
            }
            y += BigDigits.height + 2
        }
        drawCaption(&buffer, snapshot: snapshot, rect: Rect(x: 2, y: y, width: width - 4, height: max(0, tilesY - 1 - y)))
        drawReplicaTiles(&buffer, snapshot.queue.replicas, rect: Rect(x: 2, y: tilesY, width: width - 4, height: tileRows))
    }

    /// The first line of the presenter and compare views: the name, the view, the credit mode and the books.
    func drawStageTitle(_ buffer: inout CellBuffer, title: String, model: DashboardModel, snapshot: DashboardSnapshot, now: Timestamp) {
        let rect = Rect(x: 0, y: 0, width: buffer.width, height: 1)
        buffer.fill(rect, style: CellStyle(.text, background: .headerBackground))
        let label = CellStyle(.muted, background: .headerBackground)
        let value = CellStyle(.text, background: .headerBackground, bold: true)
        var left: [HeaderGroup] = [
            HeaderGroup(0, [(options.unicode ? " HONGBAO 红包 " : " HONGBAO ", CellStyle(.accent, background: .headerBackground, bold: true, reverse: true))]),
            HeaderGroup(1, [("  \(title)", value)]),
        ]
        if model.view != .compare {
            left.append(HeaderGroup(2, [("  mode ", label), (snapshot.header.creditMode.rawValue, CellStyle(.accent, background: .headerBackground, bold: true))]))
        }
        let faults = snapshot.faults
        left.append(HeaderGroup(3, [("  fail ", label), ("\(faults.creditFailurePercent)%", CellStyle(faults.creditFailurePercent > 0 ? .error : .ok, background: .headerBackground, bold: true))]))
        let gala = faults.loadRunning ? "\(DashboardText.count(faults.loadRatePerSecond))/s" : "off"
        left.append(HeaderGroup(4, [("  load ", label), (gala, value)]))
        if model.view == .compare, let scenario = snapshot.scenario {
            left.append(HeaderGroup(1, [("  " + scenario.stepLine(separator: " "), value)]))
        }
        if model.frozen {
            left.append(HeaderGroup(0, [("  ", label), (" FROZEN ", CellStyle(.warn, background: .headerBackground, bold: true, reverse: true))]))
        }
        var right: [HeaderGroup] = []
        if model.view != .compare {
            right.append(conservationGroup(snapshot.header.conservation, label: label))
        }
        right.append(HeaderGroup(5, [("  \(DashboardText.timeOfDay(now)) UTC ", label)]))
        drawGroupLine(&buffer, left: left, right: right, y: 0, rect: rect)
    }

    func conservationGroup(_ status: ConservationStatus, label: CellStyle) -> HeaderGroup {
        switch status {
        case .ok: return HeaderGroup(0, [("money ", label), ("\(check) balanced", CellStyle(.ok, background: label.background, bold: true))])
        case .unknown: return HeaderGroup(0, [("money ", label), ("? checking", label)])
        case .violated(let message):
            return HeaderGroup(0, [("money ", label), (" \(cross) NOT BALANCED: \(message) ", CellStyle(.error, background: label.background, bold: true, reverse: true))])
        }
    }

    /// A label line and, under it, the number in big digits when one of its spellings fits, else in bold text.
    func drawFigure(_ buffer: inout CellBuffer, _ figure: StageFigure, rect: Rect) {
        guard rect.width > 0, rect.height > 0 else { return }
        let labelText = DisplayWidth.truncate(figure.label, to: rect.width)
        buffer.write(labelText, x: rect.x + max(0, (rect.width - DisplayWidth.of(labelText)) / 2), y: rect.y, style: CellStyle(.title, bold: true))
        guard rect.height > 1 else { return }
        drawBigNumber(&buffer, figure.spellings, role: figure.role, rect: Rect(x: rect.x, y: rect.y + 1, width: rect.width, height: rect.height - 1))
    }

    /// Draws the first spelling whose big digits fit `rect`, centred; when none fits (or the rect is lower than the
    /// font), the shortest spelling in bold text.
    func drawBigNumber(_ buffer: inout CellBuffer, _ spellings: [String], role: ColorRole, rect: Rect) {
        let ink = CellStyle(role, bold: true)
        if rect.height >= BigDigits.height,
           let text = spellings.first(where: { BigDigits.canDraw($0) && BigDigits.width(of: $0) <= rect.width }) {
            let rows = BigDigits.rows(of: text)
            let left = rect.x + (rect.width - BigDigits.width(of: text)) / 2
            let block: Character = options.unicode ? "█" : "#"
            for (index, row) in rows.enumerated() {
                for (column, mark) in row.enumerated() where mark == "#" {
                    buffer.set(x: left + column, y: rect.y + index, Cell(character: block, style: ink))
                }
            }
            return
        }
        let text = spellings.last ?? ""
        let fitted = DisplayWidth.truncate(text, to: rect.width)
        buffer.write(fitted, x: rect.x + max(0, (rect.width - DisplayWidth.of(fitted)) / 2), y: rect.y, style: ink)
    }

    /// The scenario's step, its state and its caption, wrapped on whole words, centred.
    func drawCaption(_ buffer: inout CellBuffer, snapshot: DashboardSnapshot, rect: Rect) {
        guard rect.height > 0, rect.width > 0 else { return }
        var y = rect.y
        let caption: String
        if let scenario = snapshot.scenario {
            var segments: [(String, CellStyle)] = [(scenario.stepLine(separator: options.unicode ? " · " : " - ") + " ", CellStyle(.muted))]
            if !scenario.started {
                segments.append((" Space starts ", CellStyle(.warn, bold: true, reverse: true)))
            } else if scenario.paused {
                segments.append((" PAUSED ", CellStyle(.warn, bold: true, reverse: true)))
            } else if scenario.finished {
                segments.append((" END ", CellStyle(.ok, bold: true, reverse: true)))
            }
            let total = segments.reduce(0) { $0 + DisplayWidth.of($1.0) }
            writeSegments(&buffer, segments, x: rect.x + max(0, (rect.width - total) / 2), y: y, maxX: rect.maxX)
            y += 1
            caption = scenario.caption
        } else {
            caption = snapshot.header.caption ?? ""
        }
        guard !caption.isEmpty else { return }
        for line in Self.wrap(caption, width: rect.width) where y < rect.maxY {
            buffer.write(line, x: rect.x + max(0, (rect.width - DisplayWidth.of(line)) / 2), y: y, style: CellStyle(.accent, bold: true))
            y += 1
        }
    }

    /// The replicas as large tiles: a reversed block in the state's colour with the replica's name and its state
    /// in capitals (and a glyph), so that a tile reads without colour too.
    func drawReplicaTiles(_ buffer: inout CellBuffer, _ replicas: [ReplicaStatus], rect: Rect) {
        guard !replicas.isEmpty, rect.height > 0 else { return }
        let gap = 2
        let tileWidth = min(34, (rect.width - gap * (replicas.count - 1)) / replicas.count)
        guard tileWidth >= 8 else { return }
        let total = tileWidth * replicas.count + gap * (replicas.count - 1)
        var x = rect.x + (rect.width - total) / 2
        for replica in replicas {
            let (role, glyph) = stageMark(replica.state)
            let tile = Rect(x: x, y: rect.y, width: tileWidth, height: rect.height)
            let style = CellStyle(role, bold: true, reverse: true)
            buffer.fill(tile, style: style)
            // A database cluster's servers (they carry a detail line) are servers, their lag WAL bytes.
            var lines = ["\(replica.detail == nil ? "replica" : "server") \(replica.name)",
                         "\(glyph) \(replica.state.rawValue.uppercased())"]
            // The cluster's primary is no copy of anything: it says what it is, where a copy says how far behind.
            let standing = replica.state == .splitBrain ? "no copy"
                : replica.detail?.first == "primary" ? "primary" : replica.lag > 0 ? "\(replica.lagText) behind" : "in sync"
            if rect.height >= 5 { lines.append(standing) }
            let top = rect.y + max(0, (rect.height - lines.count) / 2)
            for (index, line) in lines.enumerated() where top + index < tile.maxY {
                let fitted = DisplayWidth.truncate(line, to: tileWidth - 2)
                buffer.write(fitted, x: x + (tileWidth - DisplayWidth.of(fitted)) / 2, y: top + index, style: style)
            }
            x += tileWidth + gap
        }
    }

    /// A replica state's colour and glyph on the stage views.
    func stageMark(_ state: ReplicaState) -> (ColorRole, String) {
        switch state {
        case .up: return (.ok, options.unicode ? "▲" : "+")
        case .slow: return (.warn, options.unicode ? "◐" : "~")
        case .catchingUp: return (.warn, options.unicode ? "↻" : "~")
        case .down: return (.error, options.unicode ? "▼" : "v")
        case .corrupted, .splitBrain: return (.error, options.unicode ? "✗" : "X")
        }
    }

    static func rateSpellings(_ value: Double) -> [String] {
        let whole = value.isFinite ? Int(max(0, value).rounded()) : 0
        return [DashboardText.rate(value), DashboardText.count(whole), DashboardText.compact(whole), thousands(whole)]
    }

    static func countSpellings(_ value: Int) -> [String] {
        [DashboardText.count(value), DashboardText.compact(value), thousands(value)]
    }

    static func moneySpellings(_ money: Money) -> [String] {
        let yuan = Int(money.minorUnits / Money.minorUnitsPerMajor)
        return [money.formatted, "¥" + DashboardText.count(yuan), "¥" + DashboardText.compact(yuan), "¥" + thousands(yuan), thousands(yuan)]
    }

    /// The narrowest spelling, for big digits on small screens: "987", "2.0k", "12.3k", "4.5M".
    static func thousands(_ value: Int) -> String {
        if value < 1_000 { return "\(value)" }
        if value < 1_000_000 { return "\(value / 1_000).\(value / 100 % 10)k" }
        return "\(value / 1_000_000).\(value / 100_000 % 10)M"
    }
}
