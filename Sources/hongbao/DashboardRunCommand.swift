import ArgumentParser
import Dashboard
import Engine
import Foundation
import MessageQueue
import PostgresStores
import Primitives
import SQSServer
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
    @Option(help: "Refresh interval in milliseconds (+/- change it live).") var refresh = String(RefreshRate.defaultMilliseconds)
    @Option(help: "Retry workers, 1 to 256.") var workers = String(Limits.default.credit.defaultWorkers)
    @Option(name: .customLong("demo-accounts"), help: "Numbered demo accounts the Gala load uses (seeded on first run).")
    var demoAccounts = "10000"
    @Option(help: "Seed for the Gala load's choices.") var seed = "8"
    @Option(help: "Also serve the queue over the Amazon SQS protocol on HOST:PORT (off by default; see `hongbao serve`).")
    var sqs: String?
    @Flag(help: "Start side by side: this engine in queue mode and a second one, in DIR-transaction, in transaction mode, on the same load and faults (c toggles it live).")
    var compare = false
    @Flag(name: .customLong("presenter"), help: "Start in the presenter view (v toggles it live).") var presenter = false
    @Option(help: "Write the session to this file as an asciicast v2 recording (asciinema play FILE replays it).")
    var record: String?
    @Flag(name: .customLong("scenario-wait"), help: "Load the scenario but start it with Space.") var scenarioWait = false
    @Option(name: .customLong("scenario-speed"), help: "Play the scenario's timeline this many times faster, 0.1 to 100 (rehearsals, tests).")
    var scenarioSpeed = "1"
    @Option(name: .customLong("scenario-load"), help: "Offer this percent of each scenario step's load, 1 to 100 (rehearsals on a small machine, tests).")
    var scenarioLoad = "100"

    func validate() throws {
        if let sqs, Self.sqsAddress(sqs) == nil {
            throw ValidationError("--sqs must be PORT or HOST:PORT (port 1 to 65535), e.g. 127.0.0.1:9324")
        }
        guard !(compare && presenter) else { throw ValidationError("--compare and --presenter each choose the first view; give one") }
    }

    func run() async throws {
        let refresh = try NumberOption.integer(refresh, "--refresh", RefreshRate.range, unit: "ms")
        let workers = try NumberOption.integer(workers, "--workers", 1...256)
        let demoAccounts = try NumberOption.integer(demoAccounts, "--demo-accounts", 2...1_000_000)
        let seed = try NumberOption.seed(seed)
        let scenarioSpeed = try NumberOption.decimal(scenarioSpeed, "--scenario-speed", 0.1...100)
        let scenarioLoad = try NumberOption.integer(scenarioLoad, "--scenario-load", 1...100, unit: "%")
        // Everything that can fail because of what the operator typed is checked before the screen is taken.
        let loader = ThemeLoader(searchDirectories: ThemeLoader.standardDirectories(
            executablePath: CommandLine.arguments.first ?? ".", currentDirectory: FileManager.default.currentDirectoryPath))
        let loadedTheme: Theme
        do {
            loadedTheme = try loader.load(theme)
        } catch {
            throw UserError(message: error.message, exitCode: ExitStatus.usage)
        }
        let loadedScenario = try scenario.map { path in try userErrors { try ScenarioFile.load(path: path) } }
        guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else {
            throw UserError(message: "the dashboard needs a terminal; for scripts use the subcommands (hongbao --help)",
                            exitCode: ExitStatus.usage)
        }
        do {
            try checkTerminal()
        } catch {
            throw UserError(message: error.message, exitCode: ExitStatus.usage)
        }
        if let record {
            // Refused before the screen is taken: a recording that cannot be written is a user mistake.
            guard FileManager.default.createFile(atPath: record, contents: nil) else {
                throw UserError(message: "--record: cannot write \(record)", exitCode: ExitStatus.usage)
            }
        }
        let configuration = try data.engineConfiguration(workers: workers)
        // The data directory's cluster, faulted by the keys; or the servers the URL names, only shown.
        let cluster: DashboardCluster? = switch configuration.store {
        case .sqlite: nil
        case let .postgres(settings):
            data.serverIsTheDataDirectorysCluster
                ? DashboardCluster.inDataDirectory(configuration.dataPath) : DashboardCluster.listed(settings)
        }
        let engine = try await userErrors { try await Self.start(configuration, sayingWhatItWaitsOn: cluster) }
        await cluster?.monitor.poll()
        let slot = ComparisonSlot(settings: ComparisonSettings(
            dataPath: configuration.dataPath + "-transaction", durability: data.durability, workers: workers,
            demoAccounts: demoAccounts, seed: seed, beside: configuration.store, postgresPrimary: configuration.postgresPrimary))
        let users = try await userErrors { try await SimulationRunner.prepareUsers(engine: engine, count: demoAccounts, seed: seed) }
        let random = SeededRandomSource(seed: seed)
        let load = LoadGenerator(engine: engine, shape: LoadGenerator.Shape(users: users), random: random)
        let target = ComparedScenarioTarget(primary: EngineScenarioTarget(engine: engine, load: load), slot: slot,
                                            cluster: cluster)
        let player = loadedScenario.map { ScenarioPlayer(scenario: $0, target: target, speed: scenarioSpeed, waitForStart: scenarioWait,
                                                             loadPercent: scenarioLoad) }
        var opened: SQSService?
        if let address = sqs.flatMap(Self.sqsAddress) {
            do {
                opened = try await sqsEndpoint(engine: engine, host: address.host, port: address.port)
            } catch {
                await engine.close()
                throw error
            }
        }
        let endpoint = opened
        let primary = configuration.postgresPrimary
        let backend = EngineDashboardBackend(
            engine: engine, load: load, users: users, scenario: player, random: random, comparison: slot,
            traffic: endpoint?.endpoint.traffic, cluster: cluster)
        var options = DashboardOptions(refreshMilliseconds: refresh, themeLoader: loader, limits: engine.limits)
        options.initialView = compare ? .compare : (presenter ? .presenter : .panes)
        options.recordPath = record
        // A terminal that fails once the engine runs still ends the program with its message and a non-zero status,
        // after the engine has stopped cleanly.
        // Started engine, load, SQS endpoint, scenario; stopped in reverse (swift-service-lifecycle's discipline,
        // see `ServiceStack`): the scenario stops driving, the endpoint stops serving, the load stops opening,
        // and only then the engine stops its workers and timers.
        var services: [ServiceStack.Service] = [{ await engine.run() }, { await load.run() }]
        if let cluster { services.insert({ await cluster.monitor.run() }, at: 0) }
        if let endpoint {
            services.append {
                do {
                    try await SQSHTTPServer.application(endpoint: endpoint.endpoint, configuration: endpoint.configuration).run()
                } catch {
                    endpoint.endpoint.traffic.setAddress("\(endpoint.configuration.host):\(endpoint.configuration.port) failed: \(error)")
                }
            }
            // Only deleted messages kept for rewinding: the engine decides itself when credits expire.
            services.append { await endpoint.endpoint.purgeExpiredPeriodically(keptOnly: true) }
            // On PostgreSQL its pool follows the primary through a failover, as the engine's do.
            if let pool = endpoint.pool { services.append { await pool.followPrimary(primary) } }
        }
        if let player { services.append { await player.run() } }
        let exit: Result<DashboardExit, TerminalError>
        do {
            exit = .success(try await ServiceStack.run(services) {
                try await runDashboard(backend: backend, theme: loadedTheme, options: options)
            })
        } catch let error as TerminalError {
            exit = .failure(error)
        } catch {
            exit = .failure(.cannotInitialise)
        }
        await slot.close()
        await endpoint?.close()
        await engine.close()
        switch exit {
        case .success(.signal(let number)): throw ExitCode(ExitStatus.signal(number))
        case .success: return
        case .failure(let error): throw UserError(message: error.message, exitCode: ExitStatus.usage)
        }
    }

    /// `PORT`, `:PORT` or `HOST:PORT` (loopback when the host is left out).
    static func sqsAddress(_ text: String) -> (host: String, port: Int)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard let last = parts.last, let port = NumberText.wholeNumber(String(last)), (1...65535).contains(port) else { return nil }
        let host = parts.dropLast().joined(separator: ":")
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    /// The dashboard's SQS endpoint, its address, and what it closes after it stops.
    struct SQSService: Sendable {
        let endpoint: SQSEndpoint
        let configuration: SQSServerConfiguration
        /// On PostgreSQL: the endpoint's pool.
        var pool: PostgresPool?
        let close: @Sendable () async -> Void
    }

    /// The SQS endpoint over the engine's queue, with the data directory's credentials. On PostgreSQL the
    /// engine's credit queue is not an SQS queue: the endpoint serves the queues kept on the server beside it
    /// (what `hongbao serve --store postgres` serves), through a pool of its own.
    private func sqsEndpoint(engine: Engine, host: String, port: Int) async throws -> SQSService {
        let credentials: SQSCredentials
        do {
            credentials = try CredentialsFile.loadOrCreate(in: engine.directory.path).0
        } catch {
            throw UserError(message: error.description, exitCode: ExitStatus.usage)
        }
        let configuration = SQSServerConfiguration(host: host, port: port)
        switch engine.books {
        case let .sqlite(books):
            let endpoint = SQSEndpoint(service: books.queue, credentials: credentials)
            endpoint.traffic.setAddress("\(host):\(port)")
            return SQSService(endpoint: endpoint, configuration: configuration, pool: nil, close: {})
        case let .postgres(books):
            let pool = PostgresPool(settings: books.databases.queue, maxConnections: 4)
            do {
                let queues = try await ServedQueues.open(pool: pool, limits: SQSLimits.queueLimits())
                let endpoint = SQSEndpoint(service: queues.service, credentials: credentials)
                endpoint.traffic.setAddress("\(host):\(port)")
                return SQSService(endpoint: endpoint, configuration: configuration, pool: pool, close: {
                    await queues.close()
                    await pool.close()
                })
            } catch {
                await pool.close()
                throw UserError(error)
            }
        }
    }
}

extension DashboardRunCommand {
    /// `Engine.start`, telling the terminal (before the screen is taken) what a long start waits for, from the
    /// readings of `cluster`'s monitor (the replicas pane's). On PostgreSQL the start writes (the tables, the
    /// warm-up), and a write waits while no standby confirms the primary's commits: the screen stayed blank, with
    /// nothing said, until a standby came back.
    static func start(_ configuration: EngineConfiguration, sayingWhatItWaitsOn cluster: DashboardCluster?)
        async throws -> Engine {
        guard let cluster else { return try await Engine.start(configuration) }
        let watch = Task {
            var said = ""
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(3))
                let line = if let status = await cluster.monitor.poll().status, status.commitsWait {
                    "the primary's commits wait: no standby confirms them (\(status.confirmingStandbys) of the "
                        + "\(status.synchronousCount) needed); it starts when one does (Ctrl-C gives up)"
                } else {
                    "still starting (Ctrl-C gives up)"
                }
                if line != said && !Task.isCancelled { FileHandle.standardError.write(Data("hongbao: \(line)\n".utf8)) }
                said = line
            }
        }
        defer { watch.cancel() }
        let engine = try await Engine.start(configuration)
        watch.cancel()
        _ = await watch.result // no line written once the screen is the dashboard's
        return engine
    }
}
