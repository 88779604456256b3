import Crediting
import Ledger
import MessageQueue
import PostgresStores
import Primitives
import RedPackets

/// Which storage engine holds the books, chosen when the engine starts.
public enum StoreChoice: Sendable, Equatable {
    /// SQLite files in the data directory: two databases and the three-copy queue's replicas.
    case sqlite
    /// One PostgreSQL server (or a cluster's primary): the red packets in the database it names, the ledger and
    /// the credit queue in databases of their own beside it (`PostgresDatabases`).
    case postgres(PostgresSettings)
}

/// The books on SQLite: the ledger and the red packets in their own files, the three-copy queue.
public struct SQLiteBooks: Sendable {
    public let ledger: Ledger
    public let packetStore: SQLitePacketStore
    public let queue: MessageQueueService
}

/// The books on PostgreSQL: the ledger, the red packets and the credit queue on one server, each system in its
/// own database (`databases`) through a pool of its own.
public struct PostgresBooks: Sendable {
    public let databases: PostgresDatabases
    public let ledger: PostgresLedger
    public let packetStore: PostgresPacketStore
    public let queue: PostgresCreditQueue
    /// How durable an acknowledged commit is on the server, read at start (`PostgresPool.commitDurability`).
    public let durability: String

    /// The systems' pools: the red packets', the ledger's, the queue's.
    public var pools: [PostgresPool] { [packetStore.pool, ledger.pool, queue.pool] }
}

/// The stores the engine runs on. Everything the credit path does goes through the store protocols
/// (`AccountStore`, `PacketStore`, `CreditQueue`); what only one engine has (the SQLite queue's replicas and
/// their faults, a PostgreSQL server's pool) is reached through the case.
public enum EngineBooks: Sendable {
    case sqlite(SQLiteBooks)
    case postgres(PostgresBooks)

    /// The account system as the other systems see it.
    var accounts: any AccountStore {
        switch self {
        case let .sqlite(books): books.ledger
        case let .postgres(books): books.ledger
        }
    }

    var packetStore: any PacketStore {
        switch self {
        case let .sqlite(books): books.packetStore
        case let .postgres(books): books.packetStore
        }
    }

    /// "SQLite" or "PostgreSQL", for messages.
    public var storeName: String {
        switch self {
        case .sqlite: "SQLite"
        case .postgres: "PostgreSQL"
        }
    }
}

/// Why the engine refuses an operation.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The operation exists only on the other storage engine (the SQLite queue's replicas, say).
    case notOnThisStore(operation: String, store: String)

    public var description: String {
        switch self {
        case let .notOnThisStore(operation, store): "\(operation) does not run on \(store) in this version"
        }
    }
}

/// The credit queue the engine's credit path and workers use: the SQLite three-copy queue or the PostgreSQL
/// table, chosen at start. One switch per call; the receipt keeps the chosen queue's own type.
public enum EngineCreditQueue: CreditQueue {
    case sqlite(MessageQueueCreditQueue)
    case postgres(PostgresCreditQueue)

    public enum Receipt: Sendable, Equatable {
        case sqlite(ReceiptHandle)
        case postgres(PostgresReceipt)
    }

    public func enqueue(_ order: CreditOrder) async throws {
        switch self {
        case let .sqlite(queue): try await queue.enqueue(order)
        case let .postgres(queue): try await queue.enqueue(order)
        }
    }

    public func receive(max: Int, wait: Duration, visibility: Duration) async throws -> [CreditMessage<Receipt>] {
        switch self {
        case let .sqlite(queue):
            try await queue.receive(max: max, wait: wait, visibility: visibility).map {
                CreditMessage(order: $0.order, receipt: .sqlite($0.receipt), receiveCount: $0.receiveCount)
            }
        case let .postgres(queue):
            try await queue.receive(max: max, wait: wait, visibility: visibility).map {
                CreditMessage(order: $0.order, receipt: .postgres($0.receipt), receiveCount: $0.receiveCount)
            }
        }
    }

    public func acknowledge(_ message: CreditMessage<Receipt>) async throws {
        switch (self, message.receipt) {
        case let (.sqlite(queue), .sqlite(receipt)):
            try await queue.acknowledge(CreditMessage(order: message.order, receipt: receipt,
                                                      receiveCount: message.receiveCount))
        case let (.postgres(queue), .postgres(receipt)):
            try await queue.acknowledge(CreditMessage(order: message.order, receipt: receipt,
                                                      receiveCount: message.receiveCount))
        default:
            throw EngineCreditQueue.foreignReceipt
        }
    }

    public func retry(_ message: CreditMessage<Receipt>, after delay: Duration) async throws {
        switch (self, message.receipt) {
        case let (.sqlite(queue), .sqlite(receipt)):
            try await queue.retry(CreditMessage(order: message.order, receipt: receipt,
                                                receiveCount: message.receiveCount), after: delay)
        case let (.postgres(queue), .postgres(receipt)):
            try await queue.retry(CreditMessage(order: message.order, receipt: receipt,
                                                receiveCount: message.receiveCount), after: delay)
        default:
            throw EngineCreditQueue.foreignReceipt
        }
    }

    /// A receipt from the other kind of queue: a programmer error, refused rather than guessed at.
    static let foreignReceipt = EngineError.notOnThisStore(operation: "a receipt from another queue", store: "this queue")
}
