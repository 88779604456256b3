import Primitives

extension DashboardRenderer {
    func drawQueue(_ buffer: inout CellBuffer, _ rect: Rect, _ queue: QueueSummary, selected: Int, focused: Bool) {
        guard !rect.isEmpty else { return }
        let oldest = queue.oldestAge.map { DashboardText.duration($0) } ?? "—"
        let stats: [HeaderGroup] = [
            HeaderGroup(0, [("visible ", CellStyle(.muted)), (DashboardText.count(queue.visible), CellStyle(.text, bold: true))]),
            HeaderGroup(1, [("  in flight ", CellStyle(.muted)), (DashboardText.count(queue.inFlight), CellStyle(.text, bold: true))]),
            HeaderGroup(2, [("  delayed ", CellStyle(.muted)), (DashboardText.count(queue.delayed), CellStyle(.text, bold: true))]),
            HeaderGroup(0, [("  DLQ ", CellStyle(.muted)), (DashboardText.count(queue.deadLetters), CellStyle(queue.deadLetters > 0 ? .error : .text, bold: true))]),
            HeaderGroup(1, [("  oldest ", CellStyle(.muted)), (oldest, CellStyle(.text, bold: true))]),
        ]
        drawGroupLine(&buffer, left: stats, right: [], y: rect.y, rect: Rect(x: rect.x, y: rect.y, width: rect.width + 1, height: 1))

        // Rows: 1 stats, graph, 1 quorum line, replicas, 1 half-message line. The graph gets what the rest leave.
        let replicaRows = queue.replicas.count + (queue.replicas.isEmpty ? 0 : (queue.hasHalfMessages ? 2 : 1))
        let externalRows = queue.external == nil ? 0 : ExternalClients.rows
        let graphRows = max(1, min(20, rect.height - 1 - replicaRows - externalRows))
        guard rect.height >= 2 else { return }
        let peak = queue.depthHistory.suffix(rect.width * 2).max() ?? 0
        let label = "depth \(DashboardText.compact(queue.depth)) "
        let scale = "max \(DashboardText.compact(peak))"
        let graphWidth = max(1, rect.width - DisplayWidth.of(label) - 1)
        let graph = Sparkline.lines(queue.depthHistory, width: graphWidth, rows: graphRows, style: options.sparklineStyle)
        for (index, line) in graph.enumerated() where rect.y + 1 + index < rect.maxY {
            let y = rect.y + 1 + index
            if index == graph.count - 1 { buffer.write(label, x: rect.x, y: y, style: CellStyle(.text, bold: true)) }
            if index == 0 && graph.count > 1 { buffer.write(scale, x: rect.x, y: y, maxWidth: DisplayWidth.of(label), style: CellStyle(.muted)) }
            buffer.write(line, x: rect.x + DisplayWidth.of(label), y: y, maxWidth: graphWidth, style: CellStyle(.graph))
        }
        var y = rect.y + 1 + graph.count
        guard !queue.replicas.isEmpty, y < rect.maxY else { return }
        // Taking writes: up or slow (a replica catching up is not written to yet). "In sync" only when no lag.
        let live = queue.replicas.filter(\.isLive)
        let hasQuorum = live.count >= queue.writeQuorum
        let behind = live.filter { $0.lag > 0 }
        // One copy alone is in sync with nothing: say so rather than "in sync".
        let sync = live.count < 2 ? "no second copy" : behind.max { $0.lag < $1.lag }.map { "lag " + $0.lagText } ?? "in sync"
        drawGroupLine(&buffer, left: [
            HeaderGroup(0, [(hasQuorum ? (options.unicode ? "✓ writes ok" : "writes ok") : "\(cross) NO QUORUM: writes blocked",
                             CellStyle(hasQuorum ? .ok : .error, bold: true, reverse: !hasQuorum))]),
            HeaderGroup(0, [("  \(live.count)/\(queue.replicas.count) up, ", CellStyle(.muted)), (sync, CellStyle(behind.isEmpty ? .muted : .warn))]),
            HeaderGroup(1, [(", quorum \(queue.writeQuorum)", CellStyle(.muted))]),
        ], right: [], y: y, rect: Rect(x: rect.x, y: y, width: rect.width + 1, height: 1))
        y += 1
        // Names of one width, so that the states line up (a URL's servers are named "host:port").
        let nameWidth = queue.replicas.map { DisplayWidth.of($0.name) }.max() ?? 0
        for (index, replica) in queue.replicas.enumerated() where y < rect.maxY {
            drawReplica(&buffer, replica, nameWidth: nameWidth, x: rect.x, y: y, width: rect.width,
                        selected: focused && index == selected)
            y += 1
        }
        if queue.hasHalfMessages, y < rect.maxY {
            // Transactional messages: held invisible until their producer decides; the queue asks when it does not.
            drawGroupLine(&buffer, left: [
                HeaderGroup(0, [("half messages ", CellStyle(.muted)),
                                (DashboardText.count(queue.halfPending), CellStyle(queue.halfPending > 0 ? .warn : .text, bold: true))]),
                HeaderGroup(1, [(" pending, ", CellStyle(.muted)), (DashboardText.count(queue.checkBacks), CellStyle(.text, bold: true)),
                                (queue.checkBacks == 1 ? " check-back made" : " check-backs made", CellStyle(.muted))]),
            ], right: [], y: y, rect: Rect(x: rect.x, y: y, width: rect.width + 1, height: 1))
            y += 1
        }
        if let external = queue.external, y < rect.maxY {
            drawExternalClients(&buffer, Rect(x: rect.x, y: y, width: rect.width, height: rect.maxY - y), external)
        }
    }

    private func drawReplica(_ buffer: inout CellBuffer, _ replica: ReplicaStatus, nameWidth: Int, x: Int, y: Int, width: Int,
                             selected: Bool) {
        let padded = DisplayWidth.fit(replica.name, to: nameWidth)
        let (glyph, word, role): (String, String, ColorRole) = switch replica.state {
        case .up: (options.unicode ? "▲" : "^", "UP", .ok)
        case .down: (options.unicode ? "▼" : "v", "DOWN", .error)
        case .slow: (options.unicode ? "◆" : "~", "SLOW", .warn)
        case .corrupted: (cross, "CORRUPTED", .error)
        case .catchingUp: (options.unicode ? "↻" : "*", "CATCHING UP", .warn)
        case .splitBrain: (cross, "SPLIT BRAIN", .error)
        }
        let lagRole: ColorRole = replica.lag == 0 ? .muted : (replica.lag > 1_000 ? .error : .warn)
        let wide = width >= 50
        // Narrow, the state column fits the short words; a longer one ("CATCHING UP") pushes its row's figures on.
        let stateText = "\(glyph) \(word)"
        let state = DisplayWidth.fit(stateText, to: max(wide ? 14 : 9, DisplayWidth.of(stateText) + 1))
        if let detail = replica.detail {
            // Whole phrases, most telling first, as many as fit: "lag 7,336 B" or nothing, never "lag …".
            // "server a"; a name that says itself it is a server ("host:port") goes without the word.
            let name = wide && nameWidth <= 3 ? "server \(padded) " : "\(padded) "
            let room = width - DisplayWidth.of(name) - DisplayWidth.of(state)
            var shown = detail.first ?? ""
            for phrase in detail.dropFirst() {
                guard DisplayWidth.of(shown) + 1 + DisplayWidth.of(phrase) <= room else { break }
                shown += " " + phrase
            }
            writeSegments(&buffer, [
                (name, CellStyle(.text, bold: true)),
                (state, CellStyle(role, bold: true)),
                (shown, CellStyle(.text)),
            ], x: x, y: y, maxX: x + width)
            if selected { highlightRow(&buffer, Rect(x: x, y: y, width: width, height: 1)) }
            return
        }
        // Every figure whole: where the exact numbers do not fit, their short forms ("2.6M"), and where even
        // those do not, no sequence at all, rather than a number cut short.
        let name = wide ? "replica \(padded) " : "\(padded) "
        let exact = (DashboardText.count(Int(replica.lag)), DashboardText.count(Int(replica.lastSequence)))
        let short = (DashboardText.compact(Int(replica.lag)), DashboardText.compact(Int(replica.lastSequence)))
        let fixed = DisplayWidth.of(name) + DisplayWidth.of(state) + DisplayWidth.of("lag ") + DisplayWidth.of(" seq ")
        let (lag, sequence) = fixed + max(7, exact.0.count) + exact.1.count <= width ? exact : short
        let showSequence = fixed + max(7, lag.count) + sequence.count <= width
        writeSegments(&buffer, [
            (name, CellStyle(.text, bold: true)),
            (state, CellStyle(role, bold: true)),
            ("lag ", CellStyle(.muted)), (DisplayWidth.fit(lag, to: max(7, lag.count)), CellStyle(lagRole, bold: replica.lag > 0)),
            (showSequence ? " seq " : "", CellStyle(.muted)), (showSequence ? sequence : "", CellStyle(.text)),
        ], x: x, y: y, maxX: x + width)
        if selected {
            highlightRow(&buffer, Rect(x: x, y: y, width: width, height: 1))
        }
    }
}
