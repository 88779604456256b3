import Primitives

/// The side-by-side view: two engines on the same generated load and the same faults, one in each credit mode.
/// The queue half keeps every user whole ("on its way"); the transaction half fails in front of them.
extension DashboardRenderer {
    func drawCompare(_ buffer: inout CellBuffer, model: DashboardModel, snapshot: DashboardSnapshot, now: Timestamp) {
        let width = buffer.width
        let footerY = buffer.height - 1
        drawStageTitle(&buffer, title: "side by side, counted from its start", model: model, snapshot: snapshot, now: now)
        var y = 1
        // The dashboard's own caption line (wrapped, with the PAUSED badge), under the title.
        let rows = captionRows(snapshot.header, width: width, maxRows: Self.maximumStageCaptionRows)
        if rows > 0 {
            drawCaption(&buffer, Rect(x: 0, y: y, width: width, height: rows), header: snapshot.header,
                        maxRows: Self.maximumStageCaptionRows)
            y += rows
        }
        let body = Rect(x: 0, y: y, width: width, height: footerY - y)
        guard let comparison = snapshot.comparison else {
            if let failure = snapshot.comparisonFailure {
                // Said where the halves would be, for as long as it is true: the status line's message expires.
                let lines = Array(Self.wrap("the second engine did not start: " + TerminalText.sanitize(failure),
                                            width: max(10, width - 4)).prefix(max(1, body.height - 2)))
                for (index, line) in lines.enumerated() {
                    buffer.write(line, x: max(0, (width - DisplayWidth.of(line)) / 2), y: body.y + body.height / 2 - lines.count / 2 + index,
                                 style: CellStyle(.error))
                }
                return
            }
            let message = "starting the second engine (transaction mode)…"
            let fitted = DisplayWidth.truncate(options.unicode ? message : "starting the second engine (transaction mode)...", to: width)
            buffer.write(fitted, x: max(0, (width - DisplayWidth.of(fitted)) / 2), y: body.y + body.height / 2, style: CellStyle(.muted))
            return
        }
        let (left, right) = body.splitColumns(width / 2)
        drawHalf(&buffer, comparison.queue, rect: left, title: "QUEUE \(options.unicode ? "·" : "-") on its way")
        drawHalf(&buffer, comparison.transaction, rect: right, title: "TRANSACTION \(options.unicode ? "·" : "-") all or nothing")
    }

    private func drawHalf(_ buffer: inout CellBuffer, _ half: ComparisonHalf, rect: Rect, title: String) {
        let inner = drawBox(&buffer, rect, title: title, focused: false)
        guard inner.height > 0, inner.width > 0 else { return }
        var y = inner.y
        let errorRole: ColorRole = half.usersWithError > 0 ? .error : .ok
        let rows = halfRows(half)
        // Big digits for the number that makes the argument, when the half is tall enough for them and the rest.
        if inner.height >= BigDigits.height + 2 + rows.count {
            drawFigure(&buffer, StageFigure(label: "users who saw an error", spellings: Self.countSpellings(half.usersWithError), role: errorRole),
                       rect: Rect(x: inner.x, y: y, width: inner.width, height: BigDigits.height + 1))
            y += BigDigits.height + 2
            // On a tall screen, the money the user was told is on its way, too.
            if inner.height >= 2 * (BigDigits.height + 2) + rows.count {
                drawFigure(&buffer, StageFigure(label: "money on its way", spellings: half.onItsWayAmount.map(Self.moneySpellings) ?? ["-"], role: .money),
                           rect: Rect(x: inner.x, y: y, width: inner.width, height: BigDigits.height + 1))
                y += BigDigits.height + 2
            }
        }
        for row in rows where y < inner.maxY {
            let valueWidth = DisplayWidth.of(row.value)
            let labelWidth = max(0, inner.width - valueWidth - 1)
            let label = DisplayWidth.of(row.label) <= labelWidth ? row.label : (row.shortLabel ?? row.label)
            buffer.write(label, x: inner.x, y: y, maxWidth: labelWidth, style: CellStyle(.muted))
            buffer.write(row.value, x: inner.maxX - min(valueWidth, inner.width), y: y, maxWidth: inner.width, style: CellStyle(row.role, bold: true))
            y += 1
        }
    }

    private struct HalfRow {
        var label: String
        var value: String
        var role: ColorRole
        /// Shown instead of `label` when the half is too narrow for it.
        var shortLabel: String? = nil
    }

    /// A time, or a dash for none measured.
    private func duration(_ value: Duration?) -> String {
        value.map(DashboardText.duration) ?? dash
    }

    private func halfRows(_ half: ComparisonHalf) -> [HalfRow] {
        let money: (String, ColorRole)
        switch half.conservation {
        case .ok: money = ("\(check) balanced", .ok)
        case .unknown: money = ("? checking", .muted)
        case .violated(let text): money = ("\(cross) NOT BALANCED \(text)", .error)
        }
        // Open to money in the account, for every credit of the last few seconds, in line or by a retry (a
        // rolled-back open is never credited): the same measure in both halves.
        let timing = "time to credit p50/p99, last 10 s"
        let replicas = half.replicas.map { "\($0.name) \(stageMark($0.state).1) \($0.state.rawValue)" }
        var rows = [
            HalfRow(label: "opens/s", value: DashboardText.rate(half.opensPerSecond), role: .graph),
            // Together with opens/s, the load this half carries: the same offered load in both halves.
            HalfRow(label: "failed opens/s", value: DashboardText.rate(half.failedOpensPerSecond),
                    role: half.failedOpensPerSecond > 0 ? .error : .text, shortLabel: "failed/s"),
            HalfRow(label: "opens", value: DashboardText.count(half.opens), role: .text),
            HalfRow(label: "users who saw an error", value: DashboardText.count(half.usersWithError), role: half.usersWithError > 0 ? .error : .ok),
            HalfRow(label: "rollbacks", value: DashboardText.count(half.rollbacks), role: half.rollbacks > 0 ? .error : .text),
            HalfRow(label: "on its way", value: "\(half.onItsWayCount.map(DashboardText.count) ?? dash) \(options.unicode ? "·" : "-") \(half.onItsWayAmount?.formatted ?? dash)", role: .money),
            HalfRow(label: timing, value: "\(duration(half.creditP50)) / \(duration(half.creditP99))", role: .text,
                    shortLabel: "to credit, 10 s"),
            HalfRow(label: "money", value: money.0, role: money.1),
            HalfRow(label: "updates/s", value: "\(half.updatesPerSecond)", role: half.updatesPerSecond >= 5 ? .text : .warn),
        ]
        if !replicas.isEmpty { rows.append(HalfRow(label: "replicas", value: replicas.joined(separator: "  "), role: .text)) }
        return rows
    }
}
