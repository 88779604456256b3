import ArgumentParser
import Dashboard
import Foundation
import Primitives
import TerminalUI

/// `hongbao dashboard-preview`: the real dashboard UI fed by a SYNTHETIC simulation (`PreviewBackend`), for
/// judging the look before the engine is wired in. Hidden from help; not the product. To be removed or replaced
/// by the real `hongbao` (no arguments) dashboard.
struct PreviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard-preview",
        abstract: "SYNTHETIC preview of the dashboard with invented data (not the engine).",
        shouldDisplay: false
    )

    @Option(name: .long, help: "Theme name (Themes/NAME.toml) or path to a .toml file.")
    var theme = "default"

    @Option(name: .long, help: "Refresh interval in milliseconds.")
    var refresh = RefreshRate.defaultMilliseconds

    func run() async throws {
        let loader = ThemeLoader(searchDirectories: ThemeLoader.standardDirectories(
            executablePath: CommandLine.arguments.first ?? ".", currentDirectory: FileManager.default.currentDirectoryPath))
        let loaded: Theme
        do {
            loaded = try loader.load(theme)
        } catch {
            throw UserError(message: error.message, exitCode: 2)
        }
        let clock = SystemClock()
        let options = DashboardOptions(refreshMilliseconds: min(max(refresh, RefreshRate.range.lowerBound), RefreshRate.range.upperBound),
                                       themeLoader: loader, clock: clock)
        do {
            try await runDashboard(backend: PreviewBackend(clock: clock), theme: loaded, options: options)
        } catch let error as TerminalError {
            throw UserError(message: error.message, exitCode: 2)
        }
    }
}
