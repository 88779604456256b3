import Primitives
/// A column of a simple table: header text, width in columns, alignment.
struct TableColumn {
    var title: String
    var width: Int
    var alignRight: Bool = false
}

extension DashboardRenderer {
    /// Fits columns into `width`: fixed columns keep their width, the first column takes what is left.
    func fitColumns(_ columns: [TableColumn], width: Int) -> [TableColumn] {
        var fitted = columns
        let fixed = columns.dropFirst().reduce(0) { $0 + $1.width + 1 }
        fitted[0].width = max(4, width - fixed)
        // Drop trailing columns when even that does not fit.
        while fitted.count > 1, fitted.reduce(0, { $0 + $1.width + 1 }) - 1 > width {
            fitted.removeLast()
            let rest = fitted.dropFirst().reduce(0) { $0 + $1.width + 1 }
            fitted[0].width = max(4, width - rest)
        }
        return fitted
    }

    /// Writes one table row of cells with per-cell styles; selected rows are reversed across the full width.
    func writeRow(_ buffer: inout CellBuffer, _ cells: [(String, CellStyle)], columns: [TableColumn], x: Int, y: Int, width: Int, selected: Bool) {
        var column = x
        for (index, spec) in columns.enumerated() where index < cells.count {
            let text = DisplayWidth.fit(cells[index].0, to: spec.width, alignRight: spec.alignRight)
            buffer.write(text, x: column, y: y, maxWidth: min(spec.width, x + width - column), style: cells[index].1)
            column += spec.width + 1
        }
        if selected {
            highlightRow(&buffer, Rect(x: x, y: y, width: width, height: 1))
        }
    }

    func writeHeaderRow(_ buffer: inout CellBuffer, columns: [TableColumn], x: Int, y: Int, width: Int) {
        writeRow(buffer: &buffer, columns.map { ($0.title, CellStyle(.muted, underline: true)) }, columns: columns, x: x, y: y, width: width)
    }

    private func writeRow(buffer: inout CellBuffer, _ cells: [(String, CellStyle)], columns: [TableColumn], x: Int, y: Int, width: Int) {
        writeRow(&buffer, cells, columns: columns, x: x, y: y, width: width, selected: false)
    }

    /// Marks the selected row: a coloured bar when colour is on, reverse video otherwise (always bold).
    func highlightRow(_ buffer: inout CellBuffer, _ rect: Rect) {
        let color = options.color
        buffer.restyle(rect) { style in
            style.bold = true
            if color {
                style.background = .selectedBackground
            } else {
                style.reverse = true
            }
        }
    }

    /// The width a money column needs so that no amount in it is ever cut: names shrink first.
    func moneyColumnWidth(_ amounts: [Money], minimum: Int) -> Int {
        amounts.reduce(minimum) { max($0, DisplayWidth.of(money($1))) }
    }

    /// What a list says instead of rows: still searching for a new filter, nothing matches, or nothing yet.
    func listNote(count: Int, page: ListPage, filter: String?, empty: String) -> String? {
        if page.filter != filter { return "searching\(ellipsis)" }
        guard count == 0 else { return nil }
        return filter.map { "nothing matches /\($0)" } ?? empty
    }

    /// The first row to show so that `selected` stays visible in `rows` lines.
    func scrollOffset(selected: Int?, count: Int, rows: Int) -> Int {
        guard let selected, rows > 0, count > rows else { return 0 }
        return min(max(0, selected - rows + 1), count - rows)
    }
}
