extension DashboardRenderer {
    /// Two lines at the foot of the queue pane: the endpoint, its connections and errors; then requests per
    /// second by action, busiest first, as many as fit.
    func drawExternalClients(_ buffer: inout CellBuffer, _ rect: Rect, _ clients: ExternalClients) {
        guard rect.height >= 1, !rect.isEmpty else { return }
        let errorRole: ColorRole = clients.errorsPerSecond > 0 ? .error : .muted
        var first: [(String, CellStyle)] = [
            ("SQS ", CellStyle(.text, bold: true)), (clients.address, CellStyle(.text)),
            ("  conn ", CellStyle(.muted)), (DashboardText.count(clients.openConnections), CellStyle(.text, bold: true)),
            ("  errors ", CellStyle(.muted)), (Self.rate(clients.errorsPerSecond) + "/s", CellStyle(errorRole, bold: clients.errorsPerSecond > 0)),
            (" (\(DashboardText.count(clients.errors)) total)", CellStyle(.muted)),
        ]
        if let code = clients.commonestError { first.append(("  \(code)", CellStyle(.muted))) }
        writeSegments(&buffer, first, x: rect.x, y: rect.y, maxX: rect.maxX)
        guard rect.height >= 2 else { return }
        var second: [(String, CellStyle)] = []
        if clients.rates.isEmpty {
            second.append(("no requests in the last 10 s", CellStyle(.muted)))
        }
        for rate in clients.rates {
            second.append(("\(rate.action) ", CellStyle(.muted)))
            second.append((Self.rate(rate.perSecond) + "/s  ", CellStyle(.text, bold: true)))
        }
        writeSegments(&buffer, second, x: rect.x, y: rect.y + 1, maxX: rect.maxX)
    }

    static func rate(_ value: Double) -> String {
        if value >= 100 || value == 0 { return String(Int(value.rounded())) }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
