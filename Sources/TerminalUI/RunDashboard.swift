import CNCursesShim
import Dashboard
import Foundation
import Primitives

/// Runs the full-screen dashboard until the operator quits, a signal arrives (SIGINT, SIGTERM, SIGQUIT, SIGHUP)
/// or the task is cancelled. The terminal is restored (`endwin`) on every way out, errors included.
///
/// Load the theme first (`ThemeLoader.load`) so that a broken theme is reported before the screen is taken.
/// Input is read every few milliseconds, independently of snapshots, which a child task fetches once per refresh
/// interval; commands run in their own child tasks and answer through the status line.
/// Returns why it stopped, so that the caller can choose an exit status (e.g. 128 + signal).
@discardableResult
public func runDashboard(backend: any DashboardBackend, theme: Theme, options: DashboardOptions = DashboardOptions()) async throws -> DashboardExit {
    guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else { throw TerminalError.notATerminal }
    try checkTerminal()
    let recorder = try options.recordPath.map { try AsciicastRecorder(path: $0, theme: theme, color: !options.noColor) }
    defer { recorder?.finish() }
    hb_install_signal_handlers()
    defer { hb_restore_signal_handlers() }
    let screen = try TerminalScreen(theme: theme, color: !options.noColor)
    defer { screen.end() }
    let shared = SharedState(refreshMilliseconds: options.refreshMilliseconds)
    let loop = DashboardLoop(screen: screen, backend: backend, shared: shared, options: options, theme: theme, recorder: recorder)
    await withTaskGroup(of: Void.self) { group in
        group.addTask {
            await pollSnapshots(backend: backend, shared: shared)
        }
        shared.query = loop.listQuery
        await loop.run { command in
            group.addTask {
                let result = await backend.perform(command)
                shared.post(.commandFinished(command, result))
            }
        }
        group.cancelAll()
    }
    let signal = hb_pending_signal()
    if signal != 0 { return .signal(signal) }
    return Task.isCancelled ? .cancelled : .quit
}

/// Checks `$TERM` without drawing anything: terminfo must know it and it must be able to address the cursor.
/// Call it before starting anything the dashboard would have to stop again.
public func checkTerminal(environment: [String: String] = ProcessInfo.processInfo.environment) throws(TerminalError) {
    let name = environment["TERM"] ?? ""
    switch hb_check_terminal() {
    case 0: return
    case -2: throw .cannotAddressCursor(name)
    default: throw .unknownTerminal(name)
    }
}

/// Why the dashboard stopped.
public enum DashboardExit: Sendable, Equatable {
    /// The operator pressed `q` or Ctrl-C (read as a key) or ran `:quit`.
    case quit
    /// SIGINT, SIGTERM, SIGQUIT or SIGHUP arrived.
    case signal(Int32)
    /// The surrounding task was cancelled.
    case cancelled
}

/// Fetches a snapshot once per refresh interval, and soon after the lists' query changes (a filter typed, a page
/// scrolled), until cancelled.
/// Snapshots start one interval apart (not one interval after the last one ended), so the time a snapshot takes
/// under load, and a late wake-up of each short sleep, is not added to every interval.
private func pollSnapshots(backend: any DashboardBackend, shared: SharedState) async {
    let clock = ContinuousClock()
    while !Task.isCancelled {
        let query = shared.query
        let started = clock.now
        shared.publish(await backend.snapshot(for: query))
        while shared.query == query {
            let wait = RefreshPacing.wait(startedAt: started, now: clock.now,
                                          interval: .milliseconds(shared.refreshMilliseconds))
            if wait == .zero { break }
            do {
                try await Task.sleep(for: min(wait, .milliseconds(queryPollMilliseconds)))
            } catch {
                return
            }
        }
    }
}

/// How long the snapshot poller waits before the next snapshot.
enum RefreshPacing {
    /// What is left of `interval` since the last snapshot started: none once it has passed (a snapshot that took
    /// longer than the interval is followed by the next at once, never by a whole interval more).
    static func wait(startedAt: ContinuousClock.Instant, now: ContinuousClock.Instant, interval: Duration) -> Duration {
        max(.zero, startedAt + interval - now)
    }
}

/// How often the poller looks for a changed list query between snapshots.
private let queryPollMilliseconds = 10
