import Primitives

extension DashboardRenderer {
    func drawAccounts(_ buffer: inout CellBuffer, _ rect: Rect, _ accounts: AccountsSummary, selected: Int?, scrollTo: Int, filter: String?) {
        guard !rect.isEmpty else { return }
        let wide = rect.width >= 48
        func waiting(_ account: AccountRow) -> String {
            account.waitingCredits == 0 ? dash
                : (wide ? "\(account.waitingCredits)\(times) \(money(account.waitingAmount))" : "\(account.waitingCredits)\(times)")
        }
        let waitingWidth = accounts.top.reduce(wide ? 15 : 5) { max($0, DisplayWidth.of(waiting($1))) }
        let columns = fitColumns([
            TableColumn(title: "Account", width: 0),
            TableColumn(title: "Balance", width: moneyColumnWidth(accounts.top.map(\.balance), minimum: 13), alignRight: true),
            TableColumn(title: wide ? "On its way" : "Wait", width: waitingWidth, alignRight: true),
        ], width: rect.width)
        writeHeaderRow(&buffer, columns: columns, x: rect.x, y: rect.y, width: rect.width)
        let summaryRows = rect.height >= 5 ? 1 : 0
        let rows = rect.height - 1 - summaryRows
        let count = accounts.page.count(carrying: accounts.top.count)
        if let note = listNote(count: count, page: accounts.page, filter: filter, empty: "no accounts yet"), rows > 0 {
            buffer.write(note, x: rect.x, y: rect.y + 1, maxWidth: rect.width, style: CellStyle(.muted))
        }
        let offset = scrollOffset(selected: scrollTo, count: count, rows: rows)
        for (line, index) in (offset..<min(count, offset + max(0, rows))).enumerated() {
            guard accounts.page.filter == filter, let account = accounts.page.row(index, in: accounts.top) else { continue }
            writeRow(&buffer, [
                (account.name, CellStyle(.text)),
                (money(account.balance), CellStyle(.money, bold: true)),
                (waiting(account), CellStyle(account.waitingCredits > 0 ? .warn : .muted)),
            ], columns: columns, x: rect.x, y: rect.y + 1 + line, width: rect.width, selected: index == selected)
        }
        if summaryRows > 0 {
            // Groups shown whole or not at all, the amount last to go: money is never cut.
            let style = CellStyle((accounts.totalWaitingCredits ?? 0) > 0 ? .warn : .muted)
            drawGroupLine(&buffer, left: [
                HeaderGroup(1, [("\(DashboardText.count(accounts.totalAccounts)) accounts \(options.unicode ? "·" : "-") ", style)]),
                HeaderGroup(0, [("\(accounts.totalWaitingCredits.map(DashboardText.count) ?? dash) on their way ", style)]),
                HeaderGroup(0, [(accounts.totalWaitingAmount.map(money) ?? dash, style)]),
            ], right: [], y: rect.maxY - 1, rect: Rect(x: rect.x, y: rect.maxY - 1, width: rect.width + 1, height: 1))
        }
    }

    func drawPackets(_ buffer: inout CellBuffer, _ rect: Rect, _ packets: PacketsSummary, selected: Int?, scrollTo: Int, filter: String?) {
        guard !rect.isEmpty else { return }
        let counts: [(String, CellStyle)] = [
            ("open ", CellStyle(.muted)), (packets.open.map(DashboardText.count) ?? dash, CellStyle(.text, bold: true)),
            ("  grabbed ", CellStyle(.muted)), (packets.grabbed.map(DashboardText.count) ?? dash, CellStyle(.text, bold: true)),
            ("  opened ", CellStyle(.muted)), (packets.opened.map(DashboardText.count) ?? dash, CellStyle(.ok, bold: true)),
            ("  expired ", CellStyle(.muted)), (packets.expired.map(DashboardText.count) ?? dash, CellStyle(.text, bold: true)),
            ("  expiring ", CellStyle(.muted)), (DashboardText.count(packets.expiringSoon), CellStyle(packets.expiringSoon > 0 ? .warn : .text, bold: true)),
        ]
        writeWholePairs(&buffer, counts, x: rect.x, y: rect.y, maxX: rect.maxX)
        var top = rect.y + 1
        if rect.height >= 4 {
            if let luck = packets.bestLuck {
                // The amount whole: the packet's id goes first, then the name is cut to make room.
                let label = options.unicode ? "★ best luck " : "* best luck "
                let amount = money(luck.amount)
                let room = rect.width - DisplayWidth.of(label) - 1 - DisplayWidth.of(amount)
                // Measured as the buffer will show it (escaped, transliterated), so that the amount keeps its room.
                let name = CellBuffer.shown(luck.recipient, in: max(1, room), asciiOnly: !options.unicode)
                let packet = " in \(luck.packet.rawValue)"
                writeSegments(&buffer, [
                    (label, CellStyle(.accent, bold: true)), (name, CellStyle(.text, bold: true)),
                    (" ", .plain), (amount, CellStyle(.money, bold: true)),
                    (DisplayWidth.of(name) + DisplayWidth.of(packet) <= room ? packet : "", CellStyle(.muted)),
                ], x: rect.x, y: top, maxX: rect.maxX)
            } else {
                buffer.write("best luck: nobody yet", x: rect.x, y: top, maxWidth: rect.width, style: CellStyle(.muted))
            }
            top += 1
        }
        guard rect.maxY - top >= 2 else { return }
        let columns = fitColumns([
            TableColumn(title: "Packet", width: 0),
            TableColumn(title: "From", width: 8),
            TableColumn(title: "Total", width: moneyColumnWidth(packets.recent.map(\.total), minimum: 11), alignRight: true),
            TableColumn(title: "Opened", width: 7, alignRight: true),
            TableColumn(title: "Grabbed", width: 7, alignRight: true),
            TableColumn(title: "State", width: 8),
            TableColumn(title: "Expires", width: 7, alignRight: true),
            TableColumn(title: "Kind", width: 8),
        ], width: rect.width)
        writeHeaderRow(&buffer, columns: columns, x: rect.x, y: top, width: rect.width)
        let rows = rect.maxY - top - 1
        let count = packets.page.count(carrying: packets.recent.count)
        if let note = listNote(count: count, page: packets.page, filter: filter, empty: "no packets yet \(dash) press s to send one") {
            buffer.write(note, x: rect.x, y: top + 1, maxWidth: rect.width, style: CellStyle(.muted))
        }
        let offset = scrollOffset(selected: scrollTo, count: count, rows: rows)
        for (line, index) in (offset..<min(count, offset + max(0, rows))).enumerated() {
            guard packets.page.filter == filter, let packet = packets.page.row(index, in: packets.recent) else { continue }
            let stateRole: ColorRole = switch packet.state {
            case .open: .ok
            case .soldOut, .done: .muted
            case .expired: .warn
            }
            let expires = packet.expiresIn.map { DashboardText.duration($0) } ?? "—"
            let expiresRole: ColorRole = (packet.expiresIn.map { $0 < .seconds(60) } ?? false) ? .warn : .muted
            writeRow(&buffer, [
                // Ids made in the same second share their first characters: when cut, keep the end.
                (keepingEnd(packet.id.rawValue, to: columns.first?.width ?? 0), CellStyle(.text)),
                (packet.sender, CellStyle(.text)),
                (money(packet.total), CellStyle(.money, bold: true)),
                ("\(packet.opened)/\(packet.shares)", CellStyle(.text)),
                ("\(packet.grabbed)/\(packet.shares)", CellStyle(.text)),
                (packet.state.rawValue, CellStyle(stateRole, bold: packet.state == .open)),
                (options.unicode ? expires : expires.replacingOccurrences("—", "-"), CellStyle(expiresRole)),
                (packet.kind.rawValue, CellStyle(.muted)),
            ], columns: columns, x: rect.x, y: top + 1 + line, width: rect.width, selected: index == selected)
        }
    }

    /// `text` cut from the front to `width` columns, starting with `…` (`...` in ASCII) when cut.
    func keepingEnd(_ text: String, to width: Int) -> String {
        guard !options.unicode, DisplayWidth.of(text) > width, width > 4 else { return DisplayWidth.truncateLeading(text, to: width) }
        return "..." + DisplayWidth.truncateLeading(text, to: width - 2).dropFirst()
    }

    func drawEvents(_ buffer: inout CellBuffer, _ rect: Rect, _ events: [EventLine], scrollBack: Int) {
        guard !rect.isEmpty else { return }
        if events.isEmpty {
            buffer.write("no events yet", x: rect.x, y: rect.y, maxWidth: rect.width, style: CellStyle(.muted))
            return
        }
        let back = min(max(0, scrollBack), max(0, events.count - 1))
        let end = events.count - back
        let start = max(0, end - rect.height)
        for (line, event) in events[start..<end].enumerated() {
            let role: ColorRole = switch event.kind {
            case .send, .open: .text
            case .grab: .muted
            case .credit: .ok
            case .failure: .error
            case .retry: .warn
            case .fault: .error
            case .system: .accent
            }
            writeSegments(&buffer, [
                (DashboardText.timeOfDay(event.at) + " ", CellStyle(.muted)),
                (DisplayWidth.fit(event.kind.rawValue, to: 7) + " ", CellStyle(role, bold: true)),
                (event.text, CellStyle(role == .muted ? .muted : .text)),
            ], x: rect.x, y: rect.y + line, maxX: rect.maxX)
        }
        if back > 0 {
            let marker = " ↓ \(back) newer "
            let text = options.unicode ? marker : marker.replacingOccurrences("↓", "v")
            buffer.write(text, x: rect.maxX - DisplayWidth.of(text), y: rect.maxY - 1, style: CellStyle(.accent, bold: true, reverse: true))
        }
    }
}

extension String {
    func replacingOccurrences(_ target: Character, _ replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
