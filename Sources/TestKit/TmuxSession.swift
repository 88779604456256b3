import Foundation

/// A command running in a detached tmux session on a private server (its own `-L` socket), for tests that look at
/// a real terminal. `close()` kills the server, which also releases any descriptor it inherited.
public final class TmuxSession {
    public static let tmux = "/usr/bin/tmux"
    public let socket: String
    public let name = "main"

    /// Whether tmux is installed.
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: tmux) }

    /// Starts `command` (a shell line) in a `width`×`height` terminal.
    public init(command: String, width: Int, height: Int, socketPrefix: String = "hongbao-test") throws {
        socket = "\(socketPrefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        // No output pipe here: a tmux server started by this call would inherit it and keep it open forever.
        try Spawn.run(Self.tmux, ["-L", socket, "new-session", "-d", "-s", name, "-x", "\(width)", "-y", "\(height)", command],
                      captureOutput: false)
    }

    deinit { close() }

    /// Kills the private server. Idempotent.
    public func close() {
        _ = try? Spawn.run(Self.tmux, ["-L", socket, "kill-server"], captureOutput: false)
        try? FileManager.default.removeItem(atPath: "/tmp/tmux-\(getuid())/\(socket)")
    }

    /// The visible screen as text, one line per row.
    public func screen() throws -> String { try command(["capture-pane", "-p", "-t", name]) }

    /// Types keys (tmux key names such as `Enter`, `Space`, or literal text).
    public func send(_ keys: String...) throws { _ = try command(["send-keys", "-t", name] + keys) }

    /// Whether the pane shows the alternate screen (a full-screen program is running).
    public func alternateScreenOn() throws -> Bool {
        try command(["display", "-p", "-t", name, "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines) == "1"
    }

    public func command(_ arguments: [String]) throws -> String { try Spawn.run(Self.tmux, ["-L", socket] + arguments) }

    /// Polls the screen until `condition` holds (never a bare sleep); returns that screen, or throws with the last
    /// screen after `seconds`.
    @discardableResult
    public func waitFor(seconds: Double = 15, _ condition: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            last = try screen()
            if condition(last) { return last }
            usleep(50_000)
        }
        throw Timeout(screen: last)
    }

    @discardableResult
    public func waitFor(_ text: String, seconds: Double = 15) throws -> String {
        try waitFor(seconds: seconds) { $0.contains(text) }
    }

    /// What the screen showed when a wait gave up.
    public struct Timeout: Error, CustomStringConvertible {
        public var screen: String
        public var description: String { "timed out; the screen was:\n\(screen)" }
    }
}
