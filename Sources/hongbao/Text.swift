import Primitives

/// Column alignment by display width (CJK characters take two columns).
enum Text {
    static func padded(_ text: String, to width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - DisplayWidth.of(text)))
    }

    static func rightAligned(_ text: String, to width: Int) -> String {
        String(repeating: " ", count: max(0, width - DisplayWidth.of(text))) + text
    }

    /// A header and rows in columns as wide as their widest cell (display width), two spaces apart; the
    /// columns in `rightAligned` are aligned right (amounts, counts). No trailing spaces.
    static func table(header: [String], rows: [[String]], rightAligned rightColumns: Set<Int> = []) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { DisplayWidth.of($0[column]) }.max() ?? 0 }
        return all.map { row in
            row.indices.map { column in
                rightColumns.contains(column) ? rightAligned(row[column], to: widths[column])
                                              : padded(row[column], to: widths[column])
            }.joined(separator: "  ").trimmingTrailingSpaces
        }
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var text = Substring(self)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
