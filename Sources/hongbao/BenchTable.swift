import Benchmarks
import Foundation
import Synchronization

/// The bench's table: each figure's median and spread, its baseline from the same run, the ratio, the goal.
enum BenchTable {
    static func print(_ report: BenchReport) {
        let header = ["suite", "figure", "median", "spread (min–max)", "baseline (same run)", "baseline", "ratio", "goal"]
        var rows = [header]
        for figure in report.figures {
            let goal = figure.goal.map { "\(figure.goalMet == true ? "✓" : "✗") \($0)" } ?? ""
            rows.append([
                figure.suite, figure.name, "\(number(figure.median)) \(figure.unit)",
                "\(number(figure.min))–\(number(figure.max)) ×\(figure.runs)",
                figure.baselineName ?? "", figure.baselineMedian.map(number) ?? "",
                figure.ratioText ?? "", goal,
            ])
        }
        let widths = (0..<header.count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for (index, row) in rows.enumerated() {
            let line = zip(row, widths).enumerated().map { column, cell in
                let padding = String(repeating: " ", count: cell.1 - cell.0.count)
                return column == 2 || column == 5 ? padding + cell.0 : cell.0 + padding // numbers right-aligned
            }.joined(separator: "  ")
            Output.line(line.trimmingCharacters(in: .whitespaces))
            if index == 0 { Output.line(String(repeating: "─", count: widths.reduce(0, +) + 2 * (widths.count - 1))) }
        }
        Output.line(String(format: "%@ suites in %.0f s on %d cores; load average %@ before, %@ after; %@%@",
                           report.suites.joined(separator: ",") as NSString, report.seconds, report.cores,
                           report.loadAverageBefore as NSString, report.loadAverageAfter as NSString,
                           report.sqlite as NSString,
                           (report.quick ? " (--quick: smoke test, small runs)" : "") as NSString))
        for figure in report.figures where figure.note != nil {
            Output.line("  \(figure.suite) \(figure.name): \(figure.note ?? "")")
        }
    }

    /// Three significant figures, thousands separated.
    static func number(_ value: Double) -> String {
        if value >= 100 {
            let formatter = NumberFormatter()
            formatter.numberStyle = .decimal
            formatter.maximumFractionDigits = 0
            return formatter.string(from: NSNumber(value: value.rounded())) ?? String(format: "%.0f", value)
        }
        return value >= 10 ? String(format: "%.1f", value) : String(format: "%.2f", value)
    }
}

/// One line on stderr saying what the bench is doing (rewritten in place on a terminal).
final class ProgressLine: Sendable {
    private let onTerminal = isatty(STDERR_FILENO) == 1
    private let started = ContinuousClock.now
    private let shown = Mutex(false)

    func show(_ text: String) {
        let elapsed = (ContinuousClock.now - started).components.seconds
        let line = "bench [\(elapsed)s] \(text)"
        FileHandle.standardError.write(Data((onTerminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
        shown.withLock { $0 = true }
    }

    func clear() {
        guard onTerminal, shown.withLock({ $0 }) else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
