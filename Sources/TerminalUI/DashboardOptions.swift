import Dashboard
import Foundation
import Primitives

/// How to run the dashboard. A `Sendable` value passed in; nothing global.
public struct DashboardOptions: Sendable {
    /// Initial refresh interval (frame cap and snapshot rate), in milliseconds.
    public var refreshMilliseconds: Int
    /// Where `t` finds the themes to cycle through (`nil`: only the initial theme).
    public var themeLoader: ThemeLoader?
    /// Attributes only, no colour. Defaults to `NO_COLOR` being set and non-empty (no-color.org).
    public var noColor: Bool
    /// Source of the time shown and used for status expiry.
    public var clock: any WallClock
    public var limits: Limits
    public var keyMap: KeyMap
    /// The view shown first (`--compare` starts side by side).
    public var initialView: DashboardView = .panes
    /// Where to write an asciicast v2 recording of the session (`--record FILE.cast`), if anywhere.
    public var recordPath: String?

    public init(
        refreshMilliseconds: Int = RefreshRate.defaultMilliseconds,
        themeLoader: ThemeLoader? = nil,
        noColor: Bool = DashboardOptions.noColorRequested(ProcessInfo.processInfo.environment),
        clock: any WallClock = SystemClock(),
        limits: Limits = .default,
        keyMap: KeyMap = .standard
    ) {
        self.refreshMilliseconds = refreshMilliseconds
        self.themeLoader = themeLoader
        self.noColor = noColor
        self.clock = clock
        self.limits = limits
        self.keyMap = keyMap
    }

    /// `NO_COLOR` set to a non-empty value.
    public static func noColorRequested(_ environment: [String: String]) -> Bool {
        guard let value = environment["NO_COLOR"] else { return false }
        return !value.isEmpty
    }
}

/// Why the dashboard could not run.
public enum TerminalError: Error, Sendable, Equatable {
    /// `newterm` failed.
    case cannotInitialise
    /// Standard input or output is not a terminal.
    case notATerminal
    /// The recording file cannot be written.
    case cannotRecord(String)
    /// terminfo does not know `TERM` (or TERM is not set).
    case unknownTerminal(String)
    /// The terminal cannot move the cursor (TERM=dumb): a full-screen dashboard would be drawn as one long line.
    case cannotAddressCursor(String)

    public var message: String {
        switch self {
        case .cannotInitialise: return "cannot initialise the terminal (is TERM set?)"
        case .notATerminal: return "the dashboard needs a terminal (stdin and stdout must be a TTY)"
        case .cannotRecord(let path): return "cannot write the recording \(path)"
        case .unknownTerminal(let name):
            return name.isEmpty
                ? "TERM is not set: the dashboard needs to know the terminal (try TERM=xterm-256color)"
                : "TERM=\(name) is not a terminal type this system knows (terminfo); try TERM=xterm-256color"
        case .cannotAddressCursor(let name):
            return "TERM=\(name) cannot move the cursor, which the full-screen dashboard needs; use a terminal such as "
                + "xterm-256color, or the subcommands (hongbao --help)"
        }
    }
}
