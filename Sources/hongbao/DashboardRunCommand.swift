import ArgumentParser
import Dashboard
import Engine
import Foundation
import Primitives
import Simulation
import TerminalUI

/// `hongbao` with no subcommand: the live dashboard over the embedded engine.
struct DashboardRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "The live dashboard (the default): watch the engine, drive it by keys, break it on purpose."
    )
    @OptionGroup var data: DataOptions
    @Option(help: "Theme name (Themes/NAME.toml) or path to a .toml file.") var theme = "default"
    @Option(help: "A scenario file (TOML) to play live, with captions; space pauses it.") var scenario: String?
    @Option(help: "Refresh interval in milliseconds (+/- change it live).") var refresh = RefreshRate.defaultMilliseconds
    @Option(help: "Retry workers.") var workers = Limits.default.credit.defaultWorkers
    @Option(name: .customLong("demo-accounts"), help: "Numbered demo accounts the Gala load uses (seeded on first run).")
    var demoAccounts = 10_000
    @Option(help: "Seed for the Gala load's choices.") var seed: UInt64 = 8

    func validate() throws {
        guard RefreshRate.range.contains(refresh) else {
            throw ValidationError("--refresh must be \(RefreshRate.range.lowerBound) to \(RefreshRate.range.upperBound) ms")
        }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be 1 to 256") }
        guard (2...1_000_000).contains(demoAccounts) else { throw ValidationError("--demo-accounts must be 2 to 1,000,000") }
    }

    func run() async throws {
        // Everything that can fail because of what the operator typed is checked before the screen is taken.
        let loader = ThemeLoader(searchDirectories: ThemeLoader.standardDirectories(
            executablePath: CommandLine.arguments.first ?? ".", currentDirectory: FileManager.default.currentDirectoryPath))
        let loadedTheme: Theme
        do {
            loadedTheme = try loader.load(theme)
        } catch {
            throw UserError(message: error.message, exitCode: 2)
        }
        let loadedScenario = try scenario.map { path in try userErrors { try ScenarioFile.load(path: path) } }
        guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else {
            throw UserError(message: "the dashboard needs a terminal; for scripts use the subcommands (hongbao --help)",
                            exitCode: 2)
        }
        var configuration = EngineConfiguration(dataPath: data.data ?? DataDirectory.defaultPath(), workers: workers)
        configuration.durability = data.durability
        let engine = try await userErrors { try await Engine.start(configuration) }
        let users = try userErrors { try SimulationRunner.prepareUsers(engine: engine, count: demoAccounts, seed: seed) }
        let random = SeededRandomSource(seed: seed)
        let load = LoadGenerator(engine: engine, shape: LoadGenerator.Shape(users: users), random: random)
        let player = loadedScenario.map { ScenarioPlayer(scenario: $0, engine: engine, load: load) }
        let backend = EngineDashboardBackend(engine: engine, load: load, users: users, scenario: player, random: random)
        let options = DashboardOptions(refreshMilliseconds: refresh, themeLoader: loader, limits: engine.limits)
        let exit: DashboardExit? = await withTaskGroup(of: DashboardExit?.self) { group in
            group.addTask { await engine.run(); return nil }
            group.addTask { await load.run(); return nil }
            if let player { group.addTask { await player.run(); return nil } }
            let result = try? await runDashboard(backend: backend, theme: loadedTheme, options: options)
            group.cancelAll()
            return result
        }
        await engine.close()
        if case let .signal(number) = exit { throw ExitCode(128 + number) }
    }
}
