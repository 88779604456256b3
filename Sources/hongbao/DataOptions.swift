import ArgumentParser
import Engine
import Foundation
import Ledger
import PostgresCluster
import PostgresStores
import Primitives
import Synchronization

/// A command holds its data directory's lock until the process exits, whatever it still references: ARC may
/// release a `DataDirectory` after its last use, which would unlock the directory while the command runs.
private let heldDirectories = Mutex<[DataDirectory]>([])

extension Durability: ExpressibleByArgument {}

/// `--store`: which storage engine holds the books.
enum StoreKind: String, ExpressibleByArgument, CaseIterable {
    /// SQLite files in the data directory (the default).
    case sqlite
    /// A PostgreSQL server (`--postgres URL`).
    case postgres
}

/// `--data DIR` (or `$HONGBAO_DATA`, or `$XDG_DATA_HOME/hongbao`) and `--durability`, shared by every subcommand.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory (default: $HONGBAO_DATA, else $XDG_DATA_HOME/hongbao).")
    var data: String?

    @Option(name: .long, help: "Commit durability: full (fsync every commit, the default) or normal.")
    var durability: Durability = .full

    @Option(name: .long, help: "Storage: sqlite (files in the data directory, the default) or postgres (--postgres URL).")
    var store: StoreKind = .sqlite

    @Option(name: .long, help: "The PostgreSQL server for --store postgres: postgres://user:password@host:port/database, or a cluster's servers host1:port1,host2:port2 (the one that takes writes is used) (default: $HONGBAO_POSTGRES, else the data directory's cluster).")
    var postgres: String?

    /// The commands that run on `--store postgres` in this version.
    static let postgresCommands = "the dashboard, simulate, audit, account, send, grab, open, packet, seed-demo, queue (all but replicas), serve, bench e2e; bench pgqueue and bench pgstores take --postgres URL"

    /// Refuses `--store postgres` for a command that runs on SQLite only (exit 2, nothing opened). Every
    /// command that opens the data directory comes through here (`path()`), so none runs on SQLite by mistake.
    func requireSQLite() throws {
        guard store == .postgres else { return }
        throw UserError(message: "this command does not run on --store postgres in this version (on postgres: \(DataOptions.postgresCommands))",
                        exitCode: ExitStatus.usage)
    }

    /// The PostgreSQL server's settings for `--store postgres`: `--postgres`, else `$HONGBAO_POSTGRES`, else the
    /// primary of the data directory's cluster (`hongbao cluster up`, its saved settings).
    func postgresSettings() throws -> PostgresSettings {
        // The server's settings decide how durable its commits are; a NORMAL here would change nothing and
        // the dashboard's header would say it did.
        guard durability == .full else {
            throw UserError(message: "--durability normal sets how the SQLite files commit; on --store postgres the server's synchronous_commit and standbys decide: leave it out",
                            exitCode: ExitStatus.usage)
        }
        guard let url = postgres ?? ProcessInfo.processInfo.environment["HONGBAO_POSTGRES"], !url.isEmpty else {
            if let directory = try? DataDirectory.resolvePath(explicit: data),
               let cluster = try? LocalCluster(dataDirectory: directory).settings() {
                let primary = cluster.primarySettings
                return PostgresSettings(host: primary.host, port: primary.port, user: primary.user,
                                        password: primary.password, database: primary.database)
            }
            throw UserError(message: "--store postgres needs a server: --postgres postgres://user:password@host:port/database, $HONGBAO_POSTGRES, or a cluster in the data directory (hongbao cluster up)",
                            exitCode: ExitStatus.usage)
        }
        do {
            return try PostgresSettings(url: url)
        } catch {
            throw UserError(message: "--postgres: \(error)", exitCode: ExitStatus.usage)
        }
    }

    /// What the engine starts with for these options: the data directory (its lock; on SQLite, the books),
    /// the durability, and the store (`--store postgres`: the server `postgresSettings()` names).
    func engineConfiguration(workers: Int? = nil) throws -> EngineConfiguration {
        let path: String
        do {
            path = try DataDirectory.resolvePath(explicit: data)
        } catch {
            throw UserError(error)
        }
        var configuration = EngineConfiguration(dataPath: path, workers: workers)
        configuration.durability = durability
        if store == .postgres {
            configuration.store = .postgres(try postgresSettings())
            configuration.postgresPrimary = clusterPrimary(path)
        }
        return configuration
    }

    /// Where the data directory's cluster (at `path`) has its primary now, when `--store postgres` connects to
    /// that cluster: after a failover its settings name the new primary, and the engine and `serve` follow them.
    /// Nil for a server a URL names.
    func clusterPrimary(_ path: String) -> (@Sendable () -> PostgresSettings?)? {
        guard serverIsTheDataDirectorysCluster else { return nil }
        let cluster = LocalCluster(dataDirectory: path)
        return {
            guard let primary = try? cluster.settings().primarySettings else { return nil }
            return PostgresSettings(host: primary.host, port: primary.port, user: primary.user,
                                    password: primary.password, database: primary.database)
        }
    }

    /// Whether `--store postgres` connects to the data directory's cluster (no `--postgres`, no
    /// `$HONGBAO_POSTGRES`): then its servers are this command's to show and to fault.
    var serverIsTheDataDirectorysCluster: Bool {
        (postgres ?? ProcessInfo.processInfo.environment["HONGBAO_POSTGRES"] ?? "").isEmpty
    }

    /// The data directory's path; an empty `--data ''` or `HONGBAO_DATA=''` is a usage error.
    func path() throws -> String {
        try requireSQLite()
        do {
            return try DataDirectory.resolvePath(explicit: data)
        } catch {
            throw UserError(error)
        }
    }

    /// Opens and locks the data directory (SQLite only: `--store postgres` is refused here).
    func open() throws -> DataDirectory {
        do {
            let directory = try DataDirectory(path: try path())
            heldDirectories.withLock { $0.append(directory) }
            DataOptions.warnIfReadableByOthers(directory)
            return directory
        } catch {
            throw UserError(error)
        }
    }

    /// One line on stderr when others can read the books.
    static func warnIfReadableByOthers(_ directory: DataDirectory) {
        let exposed = directory.readableByOthers
        guard !exposed.isEmpty else { return }
        let line = "hongbao: warning: other users can read " + exposed.joined(separator: ", ")
            + "; chmod 700 \(directory.path) and 600 the files in it"
        FileHandle.standardError.write(Data((TerminalText.sanitize(line) + "\n").utf8))
    }

    /// Opens the ledger and red packets, and expires every packet whose time has passed, so that what a
    /// command sees is the state at this moment.
    func openStore() async throws -> Store {
        let directory = try open()
        do {
            let store = try Store(directory: directory, durability: durability)
            try await store.packets.expireDue()
            return store
        } catch {
            throw UserError(error)
        }
    }
}

extension DataOptions {
    /// Opens the books for reading only (see `BooksReader`): a missing directory or ledger is an error, and
    /// nothing in the directory is written, caught up, repaired or recovered.
    func openReader() throws -> BooksReader {
        do {
            let directory = try DataDirectory(path: try path(), create: false)
            heldDirectories.withLock { $0.append(directory) }
            DataOptions.warnIfReadableByOthers(directory)
            return try BooksReader(directory: directory)
        } catch {
            throw UserError(error)
        }
    }
}

extension DataOptions {
    /// The books a writing command works on: the data directory's SQLite files (`openStore`), or with `--store
    /// postgres` the server, its tables made when missing. Packets whose time has passed expire first.
    func openWritableBooks() async throws -> any BooksWriting {
        guard store == .postgres else { return try await openStore() }
        let settings = try postgresSettings()
        return try await userErrors {
            let books = try await PostgresOperatorBooks(settings: settings, create: true)
            do {
                _ = try await books.packets.expireDue()
            } catch {
                await books.close()
                throw error
            }
            return books
        }
    }

    /// `body` on the writable books, closed after it (a PostgreSQL pool is shut down) however it ends.
    func withWritableBooks<T>(_ body: (any BooksWriting) async throws -> T) async throws -> T {
        try await DataOptions.closing(try await openWritableBooks(), close: { try await $0.close() }, body)
    }

    /// `body` on the readable books, closed after it however it ends.
    func withReadableBooks<T>(_ body: (any BooksReading) async throws -> T) async throws -> T {
        try await DataOptions.closing(try await openReadableBooks(), close: { try await $0.close() }, body)
    }

    /// `body` on `books`, then `close`, however `body` ends.
    static func closing<Books, T>(_ books: Books, close: (Books) async throws -> Void,
                                          _ body: (Books) async throws -> T) async throws -> T {
        do {
            let value = try await body(books)
            try? await close(books)
            return value
        } catch {
            try? await close(books)
            throw error
        }
    }

    /// The books a reading command works on: read-only SQLite (`openReader`), or with `--store postgres` the
    /// server, which must hold the books already (nothing is created or expired).
    func openReadableBooks() async throws -> any BooksReading {
        guard store == .postgres else { return try openReader() }
        let settings = try postgresSettings()
        return try await userErrors { try await PostgresOperatorBooks(settings: settings, create: false) }
    }
}

/// `--json`: machine-readable output.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false
}
