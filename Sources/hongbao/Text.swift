import Primitives

/// Column alignment by display width (CJK characters take two columns).
enum Text {
    /// Sanitized first (`TerminalText`), so that the padding counts the columns the escapes take.
    static func padded(_ text: String, to width: Int) -> String {
        let clean = TerminalText.sanitize(text)
        return clean + String(repeating: " ", count: max(0, width - DisplayWidth.of(clean)))
    }

    static func rightAligned(_ text: String, to width: Int) -> String {
        let clean = TerminalText.sanitize(text)
        return String(repeating: " ", count: max(0, width - DisplayWidth.of(clean))) + clean
    }

    /// A header and rows in columns as wide as their widest cell (display width), two spaces apart; the
    /// columns in `rightAligned` are aligned right (amounts, counts). No trailing spaces.
    static func table(header: [String], rows: [[String]], rightAligned rightColumns: Set<Int> = []) -> [String] {
        let all = ([header] + rows).map { $0.map(TerminalText.sanitize) } // widths of what is printed
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
