import PostgresNIO

/// Where each system keeps its books on a PostgreSQL server: the red packets in the database the settings name,
/// the account system's ledger and the credit queue each in a database of its own beside it (`<name>_ledger`,
/// `<name>_queue`). A connection is to one database, so PostgreSQL itself runs no transaction and no statement
/// across two systems: they are joined only by the queue and by transfer ids, as the SQLite files are, and each
/// could be moved to a cluster of its own. Books made when all three shared the named database stay there.
public struct PostgresDatabases: Sendable, Equatable {
    public var packets: PostgresSettings
    public var ledger: PostgresSettings
    public var queue: PostgresSettings

    public static let ledgerSuffix = "_ledger"
    public static let queueSuffix = "_queue"
    /// PostgreSQL's longest name (`NAMEDATALEN` − 1 bytes); a longer one is cut, and two could then meet.
    static let maximumNameBytes = 63

    public init(packets: PostgresSettings, ledger: PostgresSettings, queue: PostgresSettings) {
        self.packets = packets
        self.ledger = ledger
        self.queue = queue
    }

    /// Each system in the database of its own beside `settings`'s (what `locate` makes for new books).
    public init(beside settings: PostgresSettings) {
        self.init(packets: settings, ledger: settings.inDatabase(settings.database + Self.ledgerSuffix),
                  queue: settings.inDatabase(settings.database + Self.queueSuffix))
    }

    /// The databases' names: the red packets', the ledger's, the queue's (the same name for books that share one).
    public var names: [String] { [packets.database, ledger.database, queue.database] }

    /// "databases hongbao, hongbao_ledger and hongbao_queue" (the red packets', the ledger's, the queue's), or
    /// "database hongbao" for books in one.
    public var described: String {
        if Set(names).count == 1 { return "database \(packets.database)" }
        return "databases \(packets.database), \(ledger.database) and \(queue.database)"
    }

    /// How a process's connections are shared among the systems' pools: the ledger runs one transfer batch at a
    /// time and its reads; the queue's sends, deletes and delays up to four statements each and the workers'
    /// receives; the red packets the open path's batches, the sends and the reads.
    public static let connectionShares = (ledger: 0.25, packets: 0.4, queue: 0.35)

    /// A pool on each system's database.
    public struct Pools: Sendable {
        public let ledger: PostgresPool
        public let packets: PostgresPool
        public let queue: PostgresPool

        public init(ledger: PostgresPool, packets: PostgresPool, queue: PostgresPool) {
            self.ledger = ledger
            self.packets = packets
            self.queue = queue
        }

        /// The red packets', the ledger's, the queue's.
        public var all: [PostgresPool] { [packets, ledger, queue] }

        public func close() async {
            for pool in all { await pool.close() }
        }
    }

    /// One pool on each system's database, `maxConnections` and `warmConnections` shared among them as
    /// `connectionShares` says (at least 2 connections each). The caller closes them.
    public func pools(maxConnections: Int, warmConnections: Int = 0, retryWindow: Duration = .seconds(15)) -> Pools {
        func pool(_ settings: PostgresSettings, _ share: Double) -> PostgresPool {
            PostgresPool(settings: settings, maxConnections: max(2, Int((Double(maxConnections) * share).rounded())),
                         warmConnections: Int((Double(warmConnections) * share).rounded()), retryWindow: retryWindow)
        }
        let shares = PostgresDatabases.connectionShares
        return Pools(ledger: pool(ledger, shares.ledger), packets: pool(packets, shares.packets),
                     queue: pool(queue, shares.queue))
    }

    /// The names of the databases `name` keeps its ledger and queue in when made beside it (for dropping them).
    public static func siblings(of name: String) -> [String] { [name + ledgerSuffix, name + queueSuffix] }

    /// Finds where the books of `settings` are: a ledger or a queue already recorded in the named database
    /// (`hongbao_schema`) stays there; otherwise it is in the database beside it, which `create` makes when it
    /// is missing. Without `create` a missing database is `PostgresStoreError.missing`, as missing tables are.
    public static func locate(_ settings: PostgresSettings, create: Bool) async throws -> PostgresDatabases {
        let longest = settings.database.utf8.count + max(ledgerSuffix.utf8.count, queueSuffix.utf8.count)
        guard longest <= maximumNameBytes else {
            throw PostgresStoreError.badURL(settings.redacted, reason: """
                the database name is too long: the ledger and the queue go in databases named after it with \
                \(ledgerSuffix) and \(queueSuffix), and PostgreSQL's names are at most \(maximumNameBytes) bytes
                """)
        }
        return try await PostgresPool.using(settings, connections: 1) { admin in
            try await admin.checkReachable()
            let here = try await componentsRecorded(on: admin)
            var databases = PostgresDatabases(beside: settings)
            if here.contains("ledger") { databases.ledger = settings }
            if here.contains("queue") { databases.queue = settings }
            for (system, place) in [("ledger", databases.ledger), ("queue", databases.queue)] where place != settings {
                try await ensureExists(place.database, for: system, on: admin, create: create)
            }
            return databases
        }
    }

    /// Makes the database `name` on the server that takes writes among `settings`' (whose database exists), when
    /// it is missing, as `locate` makes a system's: for a second set of books beside these (the side-by-side
    /// view's second engine, whose red packets go there and its ledger and queue beside them).
    public static func make(_ name: String, beside settings: PostgresSettings) async throws {
        let writable = try await PostgresPool.writableServer(of: settings)
        try await PostgresPool.using(writable, connections: 1) { admin in
            try await admin.checkReachable()
            try await ensureExists(name, for: "red packets", on: admin, create: true)
        }
    }

    /// The components `hongbao_schema` records in the pool's database (none when it has no such table).
    private static func componentsRecorded(on pool: PostgresPool) async throws -> Set<String> {
        let found = try await pool.rows("SELECT to_regclass('hongbao_schema') IS NOT NULL")
        guard try found.first?.decode(Bool.self) == true else { return [] }
        return Set(try await pool.rows("SELECT component FROM hongbao_schema").map { try $0.decode(String.self) })
    }

    private static func ensureExists(_ name: String, for system: String, on pool: PostgresPool, create: Bool) async throws {
        let exists = try await pool.rows("SELECT 1 FROM pg_database WHERE datname = \(name)")
        guard exists.isEmpty else { return }
        guard create else {
            throw PostgresStoreError.missing("no hongbao \(system) in \(pool.settings.inDatabase(name).redacted)")
        }
        do {
            _ = try await pool.rows(PostgresQuery(unsafeSQL: "CREATE DATABASE \(quoted(name))"))
        } catch let error as PSQLError where ["42P04", "23505"].contains(error.serverInfo?[.sqlState]) {
            // Made by another process starting at the same moment: "already exists" when it had committed,
            // a unique violation in `pg_database` when both were under way.
            return
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42501" {
            throw PostgresStoreError.server("""
                cannot make the database \(name) for the \(system): \(pool.settings.user) may not create databases; \
                make it (CREATE DATABASE \(quoted(name)) OWNER \(quoted(pool.settings.user))) or grant CREATEDB
                """)
        }
    }

    /// `name` as an SQL identifier.
    static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}

extension PostgresSettings {
    /// These settings with another database on the same servers.
    public func inDatabase(_ name: String) -> PostgresSettings {
        var settings = self
        settings.database = name
        return settings
    }
}
