import ArgumentParser
import Engine
import Foundation
import PostgresCluster
import PostgresStores
import Primitives

/// `hongbao cluster ...`: a local PostgreSQL cluster (one primary, two streaming standbys, every commit on two
/// servers) under `<data>/cluster`, its faults and failover. These commands do not take the data directory's
/// lock: an operator runs them while the dashboard runs.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Run a local PostgreSQL cluster (primary + two synchronous standbys), break it and fail over.",
        subcommands: [Up.self, Status.self, Down.self, Remove.self, Fault.self, Failover.self]
    )

    static func cluster(_ data: DataOptions) throws -> LocalCluster {
        try refuseServers(data)
        return LocalCluster(dataDirectory: try data.path())
    }

    /// Refuses `--postgres` where a command makes, stops, breaks or deletes servers: those act on the data
    /// directory's cluster only, never on servers a URL names (which `cluster status` reads).
    static func refuseServers(_ data: DataOptions) throws {
        guard data.postgres != nil else { return }
        throw UserError(message: "--postgres: this command acts on the cluster in the data directory (hongbao cluster up), not on a URL's servers; cluster status --postgres reads those",
                        exitCode: ExitStatus.usage)
    }

    /// Runs `body`, turning a `ClusterError` into the user's one line and exit status.
    static func run<T>(_ body: () async throws(ClusterError) -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw UserError(error)
        }
    }
}

extension ClusterCommand {
    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the cluster if there is none, and start every server that is not running (idempotent).")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Option(name: .long, help: "Standbys of a new cluster: 0 (one server), 1 or 2.") var standbys = 2

        struct View: Encodable {
            let created: Bool
            let started: [String]
            let alreadyUp: Bool
            let primary: String
            let host: String
            let port: Int
            let user: String
            let database: String
            let settingsFile: String
        }

        func run() async throws {
            let cluster = try ClusterCommand.cluster(data)
            let result = try await ClusterCommand.run { () async throws(ClusterError) in try await cluster.up(standbys: standbys) }
            let primary = result.settings.primarySettings
            let file = ClusterSettings.path(in: cluster.directory)
            if output.json {
                try Output.json(View(created: result.created, started: result.started, alreadyUp: result.alreadyUp,
                                     primary: result.settings.primary, host: primary.host, port: primary.port,
                                     user: primary.user, database: primary.database, settingsFile: file))
                return
            }
            if result.alreadyUp {
                Output.line("cluster already up: every server runs (primary \(result.settings.primary) on \(primary.host):\(primary.port))")
            } else {
                let verb = result.created ? "made and started" : "started"
                Output.line("cluster up: \(verb) \(result.started.joined(separator: ", ")); primary \(result.settings.primary) "
                    + "on \(primary.host):\(primary.port), database \(primary.database), user \(primary.user)")
            }
            Output.line("settings (with the password, 0600): \(file)")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each server: role, up/slow/down, WAL position, replay lag, sync state (reads only).")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let status: ClusterStatus
            if data.postgres != nil {
                // The servers the URL names, read over SQL as the dashboard's replicas pane reads them.
                status = await PostgresPool.serversStatus(of: try data.postgresSettings())
            } else {
                let cluster = try ClusterCommand.cluster(data)
                status = try await ClusterCommand.run { () async throws(ClusterError) in try await cluster.status() }
            }
            if output.json {
                struct View: Encodable {
                    let primary: String
                    let synchronousStandbyNames: String
                    let confirmingStandbys: Int
                    let commitsWait: Bool
                    let servers: [ServerStatus]
                }
                try Output.json(View(primary: status.primary, synchronousStandbyNames: status.synchronousStandbyNames,
                                     confirmingStandbys: status.confirmingStandbys, commitsWait: status.commitsWait,
                                     servers: status.servers))
                return
            }
            Output.lines(ClusterCommand.text(status))
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop every server (the data stays).")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let cluster = try ClusterCommand.cluster(data)
            let stopped = try await ClusterCommand.run { () async throws(ClusterError) in try await cluster.down() }
            if output.json {
                struct View: Encodable { let stopped: [String] }
                try Output.json(View(stopped: stopped))
                return
            }
            Output.line(stopped.isEmpty ? "cluster already down: no server was running"
                : "cluster down: stopped \(stopped.joined(separator: ", "))")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop every server at once (immediate shutdown) and delete the cluster with all its data (needs --yes; refused while the data directory is in use).")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Flag(name: .long, help: "Yes: delete the cluster and every server's data.") var yes = false

        func run() async throws {
            try ClusterCommand.refuseServers(data)
            let path = try data.path()
            let cluster = LocalCluster(dataDirectory: path)
            let settings: ClusterSettings
            do {
                settings = try cluster.settings()
            } catch .noCluster {
                try report(View(removed: false, servers: []), "no cluster in \(cluster.directory): nothing removed")
                return
            } catch {
                throw UserError(error)
            }
            guard yes else {
                throw UserError(message: "cluster remove deletes every server's data (\(settings.serverRoot)); add --yes to do it",
                                exitCode: ExitStatus.usage)
            }
            // A dashboard or command on this data directory holds its lock: its servers are not pulled from under it.
            let lock: DataDirectory
            do {
                lock = try DataDirectory(path: path, create: false)
            } catch {
                throw UserError(error)
            }
            await cluster.remove()
            withExtendedLifetime(lock) {}
            let names = settings.servers.map(\.name)
            try report(View(removed: true, servers: names),
                       "cluster removed: stopped at once (immediate shutdown) and deleted \(names.joined(separator: ", ")) (\(settings.serverRoot))")
        }

        struct View: Encodable {
            let removed: Bool
            let servers: [String]
        }

        private func report(_ view: View, _ line: String) throws {
            if output.json { try Output.json(view) } else { Output.line(line) }
        }
    }

    struct Fault: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Break or mend one server: down (SIGKILL its postmaster), slow (SIGSTOP), restore.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "down, slow or restore.") var fault: String
        @Argument(help: "The server: a, b or c.") var server: String

        func run() async throws {
            guard let kind = ClusterFault(rawValue: fault) else {
                throw UserError(message: "'\(fault)' is not a fault; use down, slow or restore", exitCode: ExitStatus.usage)
            }
            let cluster = try ClusterCommand.cluster(data)
            let changed = try await ClusterCommand.run { () async throws(ClusterError) in
                try await cluster.fault(kind, server: server)
            }
            if output.json {
                struct View: Encodable {
                    let server: String
                    let fault: String
                    let changed: Bool
                }
                try Output.json(View(server: server, fault: kind.rawValue, changed: changed))
                return
            }
            switch (kind, changed) {
            case (.down, true): Output.line("server \(server) down: its postmaster was killed (SIGKILL)")
            case (.down, false): Output.line("server \(server) was already down")
            case (.slow, true): Output.line("server \(server) slow: stopped (SIGSTOP) until restored")
            case (.slow, false): Output.line("server \(server) was already slow")
            case (.restore, true): Output.line("server \(server) restored: running, catching up by streaming")
            case (.restore, false): Output.line("server \(server) was already up")
            }
        }
    }

    struct Failover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Kill the primary, promote the standby with the most WAL, bring the old primary back as a standby.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let cluster = try ClusterCommand.cluster(data)
            let result = try await ClusterCommand.run { () async throws(ClusterError) in try await cluster.failover() }
            if output.json {
                try Output.json(result)
                return
            }
            let positions = result.receivedLSNs.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            Output.line("failover: \(result.newPrimary) is the primary (WAL held: \(positions)); "
                + "writes taken after \(result.promotedMilliseconds) ms")
            Output.line("old primary \(result.oldPrimary): \(result.rejoined); done in \(result.totalMilliseconds) ms")
        }
    }

    /// The status as a table for a person.
    static func text(_ status: ClusterStatus) -> String {
        let waiting = status.commitsWait ? "; COMMITS WAIT (no synchronous standby confirms)" : ""
        func standbys(_ count: Int) -> String { count == 1 ? "1 standby" : "\(count) standbys" }
        let commits = if status.synchronousCount == 0 {
            "commits wait for no standby"
        } else if status.replicationVisible == false {
            "each commit waits for \(standbys(status.synchronousCount)); which confirm is hidden from this user (pg_read_all_stats sees it)"
        } else {
            "each commit waits for \(status.synchronousCount) of the \(standbys(status.confirmingStandbys)) that can confirm it\(waiting)"
        }
        let primary = status.primary.isEmpty ? "none (no server takes writes)" : status.primary
        // Servers a URL names are "host:port": the first column is as wide as the longest name.
        let nameWidth = max(6, (status.servers.map(\.name.count).max() ?? 0) + 1)
        var lines = [
            "primary \(primary); synchronous_standby_names '\(status.synchronousStandbyNames)'; \(commits)",
            pad(["server", "role", "state", "port", "pid", "lsn", "received", "lag", "sync"], nameWidth: nameWidth),
        ]
        for server in status.servers {
            let lag = server.lagBytes.map { "\($0) B" } ?? "-"
            let sync = [server.syncState, server.replication].compactMap { $0 }.joined(separator: " ")
            // A server that did not answer has no role to show, only its reason (in the last column); one that
            // answered with a problem (a second primary) shows its role beside it.
            let role = server.problem == nil || server.state == .up ? server.role.rawValue : "-"
            lines.append(pad([
                server.name, role, server.state.rawValue, "\(server.port)", server.pid.map { "\($0)" } ?? "-",
                server.lsn ?? "-", server.receivedLSN ?? "-", lag, server.problem ?? (sync.isEmpty ? "-" : sync),
            ], nameWidth: nameWidth))
        }
        return lines.joined(separator: "\n")
    }

    private static func pad(_ fields: [String], nameWidth: Int) -> String {
        let widths = [nameWidth, 8, 12, 6, 8, 12, 12, 12, 0]
        return zip(fields, widths).map { field, width in
            field.count >= width ? field + (width == 0 ? "" : " ") : field + String(repeating: " ", count: width - field.count)
        }.joined().trimmingCharacters(in: .whitespaces)
    }
}
