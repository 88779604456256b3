import PostgresNIO
import Synchronization

/// One open connection per server, kept from one status poll to the next. A dashboard reads every server twice
/// a second; on a connection of its own each time, that was a server process started, a password exchange and
/// an exit per server per reading: 8–9 processes a second and about 8 % of a core of an idle three-server cluster
/// on this machine, taken from the load the screen shows. A connection that fails is closed and not kept; the
/// next reading opens another.
///
/// A connection is out of the cache while in use (`take`), so two readers never share one; one given back to a
/// full slot, or after `closeAll`, is closed.
public final class KeptConnections: Sendable {
    /// Which server, as whom, in which database.
    public struct Key: Hashable, Sendable {
        public var host: String
        public var port: Int
        public var user: String
        public var database: String

        public init(host: String, port: Int, user: String, database: String) {
            self.host = host
            self.port = port
            self.user = user
            self.database = database
        }
    }

    private struct State {
        var idle: [Key: PostgresConnection] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    public init() {}

    /// How many connections are kept now (for tests).
    public var count: Int { state.withLock { $0.idle.count } }

    /// The kept connection to `key`'s server, out of the cache until given back; nil when there is none (or it
    /// has closed meanwhile: the server went away).
    public func take(_ key: Key) -> PostgresConnection? {
        guard let connection = state.withLock({ $0.idle.removeValue(forKey: key) }) else { return nil }
        guard !connection.isClosed else { return nil }
        return connection
    }

    /// Keeps `connection` for the next `take` of `key`, or closes it (the slot is taken, the cache is closed, or
    /// the connection is).
    public func giveBack(_ connection: PostgresConnection, for key: Key) {
        let kept = state.withLock { state -> Bool in
            guard !state.closed, !connection.isClosed, state.idle[key] == nil else { return false }
            state.idle[key] = connection
            return true
        }
        if !kept { ServerConnection.close(connection) }
    }

    /// Closes every kept connection; connections given back afterwards are closed too.
    public func closeAll() {
        let connections = state.withLock { state -> [PostgresConnection] in
            state.closed = true
            defer { state.idle = [:] }
            return Array(state.idle.values)
        }
        connections.forEach(ServerConnection.close)
    }

    /// `ask` on a connection to `key`'s server: the one `kept` holds for it when there is one, else a new one from
    /// `open`. A connection that answered is kept for the next call (with no `kept`, it is closed by `close`);
    /// `ask` closes one it fails on. A kept connection that fails with an error `stale` accepts (its server was
    /// restarted since) is dropped and `ask` runs once more on a new one, so that a restarted server is not shown
    /// unreachable for a reading; any other error (a timeout, a cancellation) is thrown as it is.
    public static func using<T>(
        _ kept: KeptConnections?, _ key: Key, open: () async throws -> PostgresConnection,
        close: (PostgresConnection) async -> Void, stale: (any Error) -> Bool,
        _ ask: (PostgresConnection) async throws -> T
    ) async throws -> T {
        if let kept, let connection = kept.take(key) {
            do {
                let value = try await ask(connection)
                kept.giveBack(connection, for: key)
                return value
            } catch let error where stale(error) {
                // A new connection follows.
            }
        }
        let connection = try await open()
        let value = try await ask(connection)
        if let kept { kept.giveBack(connection, for: key) } else { await close(connection) }
        return value
    }

    deinit {
        // PostgresNIO requires a connection closed before it goes.
        state.withLock { $0.idle.values.forEach(ServerConnection.close) }
    }
}
