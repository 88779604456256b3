import Primitives

extension DashboardRenderer {
    func drawRetries(_ buffer: inout CellBuffer, _ rect: Rect, _ retries: RetriesSummary, selected: Int?, scrollTo: Int, filter: String?) {
        guard !rect.isEmpty else { return }
        var segments: [(String, CellStyle)] = [("workers ", CellStyle(.muted))]
        if retries.workers.isEmpty { segments.append(("none", CellStyle(.muted))) }
        // Each worker: its state glyph and the credits it has landed.
        for worker in retries.workers {
            let (glyph, role) = workerGlyph(worker.state)
            segments.append(("\(worker.name) \(glyph) ", CellStyle(role, bold: worker.state != .running)))
            segments.append(("\(DashboardText.compact(worker.completed))  ", CellStyle(.text)))
        }
        if segments.reduce(0, { $0 + DisplayWidth.of($1.0) }) > rect.width + 2 {
            // Too many to list: counts per state instead, the states no worker is in left out.
            segments = [("workers ", CellStyle(.muted))]
            for state in WorkerState.allCases {
                let count = retries.workers.filter { $0.state == state }.count
                if count == 0 && state != .running { continue }
                let (glyph, role) = workerGlyph(state)
                segments.append(("\(glyph) \(count) \(state.rawValue)  ", CellStyle(count > 0 ? role : .muted, bold: count > 0 && state != .running)))
            }
        }
        writeSegments(&buffer, segments, x: rect.x, y: rect.y, maxX: rect.maxX)
        guard rect.height >= 2 else { return }
        // The policy beside the count in the longest words that fit; none rather than words cut off.
        let succeeded = "succeeded after retry \(DashboardText.count(retries.succeeded))"
        let separator = options.unicode ? " · " : " - "
        let policy = retries.policy?.descriptions(unicode: options.unicode)
            .first { DisplayWidth.of(succeeded + separator + $0) <= rect.width }
        buffer.write(succeeded + (policy.map { separator + $0 } ?? ""), x: rect.x, y: rect.y + 1,
                     maxWidth: rect.width, style: CellStyle(.muted))

        let remaining = rect.height - 2
        // The histogram takes the rows its buckets need (up to half); the list of waiting credits fills the rest.
        let count = retries.page.count(carrying: retries.next.count)
        let histogramRows = count == 0 && filter == nil
            ? max(0, remaining - 1) : min(max(1, retries.attemptHistogram.count), max(0, remaining / 2))
        drawHistogram(&buffer, Rect(x: rect.x, y: rect.y + 2, width: rect.width, height: histogramRows), retries.attemptHistogram)
        drawNextRetries(&buffer, Rect(x: rect.x, y: rect.y + 2 + histogramRows, width: rect.width, height: remaining - histogramRows),
                        retries, selected: selected, scrollTo: scrollTo, filter: filter)
    }

    private func workerGlyph(_ state: WorkerState) -> (String, ColorRole) {
        switch state {
        case .running: return (options.unicode ? "●" : "+", .ok)
        case .paused: return (options.unicode ? "‖" : "=", .warn)
        case .crashed: return (cross, .error)
        }
    }

    private func drawHistogram(_ buffer: inout CellBuffer, _ rect: Rect, _ histogram: [Int]) {
        guard !rect.isEmpty else { return }
        if histogram.isEmpty || histogram.allSatisfy({ $0 == 0 }) {
            // The histogram counts credits landed, by the try that landed them: failed tries are in the list below.
            buffer.write("landed on a retry: none yet", x: rect.x, y: rect.y, maxWidth: rect.width, style: CellStyle(.muted))
            return
        }
        let shown = Array(histogram.prefix(rect.height))
        let peak = max(1, shown.max() ?? 1)
        let barWidth = max(1, rect.width - 16)
        for (index, count) in shown.enumerated() {
            let isLast = index == histogram.count - 1 && histogram.count > 1
            let label = DisplayWidth.fit(isLast ? "≥\(index + 1)×" : "\(index + 1)×", to: 4, alignRight: true)
            let role: ColorRole = index == 0 ? .ok : (index < 3 ? .warn : .error)
            let y = rect.y + index
            buffer.write(options.unicode ? label : label.replacingOccurrences("≥", ">"), x: rect.x, y: y, style: CellStyle(.muted))
            drawBar(&buffer, Double(count) / Double(peak), x: rect.x + 5, y: y, width: barWidth, role: role)
            buffer.write(DashboardText.compact(count), x: rect.x + 6 + barWidth, y: y, maxWidth: rect.maxX - rect.x - 6 - barWidth,
                         style: CellStyle(.text, bold: true))
        }
    }

    private func drawNextRetries(_ buffer: inout CellBuffer, _ rect: Rect, _ retries: RetriesSummary, selected: Int?, scrollTo: Int, filter: String?) {
        guard !rect.isEmpty else { return }
        let next = retries.next
        let count = retries.page.count(carrying: next.count)
        if let note = listNote(count: count, page: retries.page, filter: filter, empty: "retries: no credit waiting") {
            buffer.write(note, x: rect.x, y: rect.y, maxWidth: rect.width, style: CellStyle(.muted))
            return
        }
        if rect.height < 2, let first = next.first {
            writeSegments(&buffer, [
                ("next ", CellStyle(.muted)), ("\(first.recipient) ", CellStyle(.text)), (money(first.amount), CellStyle(.money, bold: true)),
                (" #\(first.attempt) \(first.dueIn.map { $0 > .zero ? "in " + DashboardText.duration($0) : "due now" } ?? "due ?")",
                 CellStyle(.warn)),
                (count > 1 ? " (+\(DashboardText.count(count - 1)))" : "", CellStyle(.muted)),
            ], x: rect.x, y: rect.y, maxX: rect.maxX)
            return
        }
        let columns = fitColumns([
            TableColumn(title: "Waiting", width: 0),
            TableColumn(title: "Amount", width: moneyColumnWidth(next.map(\.amount), minimum: 10), alignRight: true),
            TableColumn(title: "Try", width: 3, alignRight: true),
            TableColumn(title: "Due", width: 7, alignRight: true),
        ], width: rect.width)
        writeHeaderRow(&buffer, columns: columns, x: rect.x, y: rect.y, width: rect.width)
        let rows = rect.height - 1
        let offset = scrollOffset(selected: scrollTo, count: count, rows: rows)
        for (line, index) in (offset..<min(count, offset + max(0, rows))).enumerated() {
            guard let retry = retries.page.row(index, in: next) else { continue }
            writeRow(&buffer, [
                ("\(retry.recipient) \(retry.claim.rawValue)", CellStyle(.text)),
                (money(retry.amount), CellStyle(.money, bold: true)),
                ("#\(retry.attempt)", CellStyle(retry.attempt > 3 ? .error : .warn)),
                (retry.dueIn.map { $0 > .zero ? DashboardText.duration($0) : "now" } ?? dash, CellStyle(.muted)),
            ], columns: columns, x: rect.x, y: rect.y + 1 + line, width: rect.width, selected: index == selected)
        }
    }

    func drawFaults(_ buffer: inout CellBuffer, _ rect: Rect, _ snapshot: DashboardSnapshot) {
        guard !rect.isEmpty else { return }
        let faults = snapshot.faults
        let narrow = rect.width < 40
        let labelWidth = narrow ? 9 : 16
        var y = rect.y
        // Timeouts beside the failure rate: credits that missed their deadline went to the queue like failures,
        // though no failure was injected, so they are their own number. The bar gets what is left of the line.
        let failureRole: ColorRole = faults.creditFailurePercent == 0 ? .ok : (faults.creditFailurePercent >= 50 ? .error : .warn)
        let percent = " \(faults.creditFailurePercent)%"
        let timeouts = DashboardText.count(faults.creditTimeouts)
        let timeoutsWidth = DisplayWidth.of("  timeouts ") + DisplayWidth.of(timeouts)
        let barWidth = min(20, rect.width - labelWidth - 5 - timeoutsWidth)
        buffer.write(DisplayWidth.fit(narrow ? "failures" : "credit failures", to: labelWidth), x: rect.x, y: y, maxWidth: rect.width, style: CellStyle(.muted))
        var column = rect.x + labelWidth
        if barWidth >= 4 {
            column += drawBar(&buffer, Double(faults.creditFailurePercent) / 100, x: column, y: y, width: barWidth, role: failureRole)
        }
        writeSegments(&buffer, [
            (barWidth >= 4 ? DisplayWidth.fit(percent, to: 5, alignRight: true) : String(percent.dropFirst()), CellStyle(failureRole, bold: true)),
            ("  timeouts ", CellStyle(.muted)),
            (timeouts, CellStyle(faults.creditTimeouts > 0 ? .warn : .muted, bold: faults.creditTimeouts > 0)),
        ], x: column, y: y, maxX: rect.maxX)
        y += 1
        if y < rect.maxY {
            // Beside the latency, the credits the account service refused as too busy: with timeouts, why
            // credits went to the queue when no failure is injected.
            let busy = faults.creditsRefusedBusy
            writeSegments(&buffer, [
                (DisplayWidth.fit(narrow ? "latency" : "account latency", to: labelWidth), CellStyle(.muted)),
                ("+\(faults.ledgerLatencyMilliseconds) ms", CellStyle(faults.ledgerLatencyMilliseconds > 0 ? .warn : .ok, bold: true)),
                ("  busy ", CellStyle(.muted)),
                (DashboardText.count(busy), CellStyle(busy > 0 ? .warn : .muted, bold: busy > 0)),
            ], x: rect.x, y: y, maxX: rect.maxX)
            y += 1
        }
        if y < rect.maxY {
            let load = faults.loadRunning
                ? (options.unicode ? "▶ RUNNING " : "> RUNNING ") + "\(DashboardText.count(faults.loadRatePerSecond))\(narrow ? "/s" : " opens/s")"
                : (options.unicode ? "■ stopped" : "# stopped")
            writeSegments(&buffer, [
                (DisplayWidth.fit(narrow ? "Gala" : "Gala load", to: labelWidth), CellStyle(.muted)),
                (load, CellStyle(faults.loadRunning ? .accent : .muted, bold: faults.loadRunning)),
            ], x: rect.x, y: y, maxX: rect.maxX)
            y += 1
        }
        drawModeComparison(&buffer, Rect(x: rect.x, y: y, width: rect.width, height: rect.maxY - y), snapshot)
    }

    /// Queue mode and transaction mode side by side: what users saw in each.
    private func drawModeComparison(_ buffer: inout CellBuffer, _ rect: Rect, _ snapshot: DashboardSnapshot) {
        guard rect.height >= 2 else { return }
        let active = snapshot.header.creditMode
        let mark = options.unicode ? "●" : "*"
        let numberWidth = rect.width < 40 ? 7 : 9
        let columns = fitColumns([
            TableColumn(title: "users saw", width: 0),
            TableColumn(title: (active == .queue ? mark : " ") + "queue", width: numberWidth, alignRight: true),
            TableColumn(title: (active == .transaction ? mark : " ") + "txn", width: numberWidth, alignRight: true),
        ], width: rect.width)
        writeHeaderRow(&buffer, columns: columns, x: rect.x, y: rect.y, width: rect.width)
        let queue = snapshot.failures.queue
        let transaction = snapshot.failures.transaction
        let rows: [(String, Int, Int, ColorRole)] = [
            ("an error", queue.userVisibleFailures, transaction.userVisibleFailures, .error),
            ("\"on its way\"", queue.deferredCredits, transaction.deferredCredits, .warn),
            ("paid at once", queue.immediateCredits, transaction.immediateCredits, .ok),
        ]
        for (index, row) in rows.enumerated() where rect.y + 1 + index < rect.maxY {
            writeRow(&buffer, [
                (row.0, CellStyle(.text)),
                (DashboardText.count(row.1), CellStyle(row.1 > 0 ? row.3 : .muted, bold: row.1 > 0)),
                (DashboardText.count(row.2), CellStyle(row.2 > 0 ? row.3 : .muted, bold: row.2 > 0)),
            ], columns: columns, x: rect.x, y: rect.y + 1 + index, width: rect.width, selected: false)
        }
        // On tall screens, say what the comparison means (for the audience).
        let notes = [
            "queue: a failed credit waits in the queue (3 copies)",
            "and is retried until paid; the user sees \"on its way\".",
            "transaction: retried inline, then the user sees an error.",
            "m switches mode; f injects credit failures.",
        ]
        let notesTop = rect.y + 5
        guard rect.maxY - notesTop >= notes.count else { return }
        for (index, note) in notes.enumerated() {
            buffer.write(note, x: rect.x, y: notesTop + index, maxWidth: rect.width, style: CellStyle(.muted))
        }
    }
}
