import Engine
import Foundation
import MessageQueue
import PostgresStores
import Primitives

/// The `queue` commands on `--store postgres`. The server holds two kinds of queue, each in the queue's database:
///
/// - the engine's credit queue (`credits`) and its dead-letter queue, in `queue_message`, which many processes
///   share with `FOR UPDATE SKIP LOCKED`: `list`, `stats`, `peek` and `redrive` reach them, and the writing
///   commands refuse them;
/// - the queues an operator or an SQS client makes (`queue create`, `hongbao serve`), kept by
///   `PostgresQueueJournal`: every command works on them as on the SQLite queue, except `replicas` (the copies
///   are the cluster's servers).
enum PostgresQueueCommands {
    /// The subcommands that reach the credit queue.
    static let supported = "list, stats, peek and redrive"

    /// Whether `name` is the engine's credit queue or its dead-letter queue.
    static func isCreditQueue(_ name: String) -> Bool {
        let credits = Limits.default.credit.queueName
        return name == credits || name == credits + "-dlq"
    }

    /// Refuses a `queue` subcommand (nil: any writing one) on the credit queue, which has no form of it (exit 2,
    /// nothing changed).
    static func refuse(_ subcommand: String?, on name: String) -> UserError {
        let what = subcommand.map { "queue \($0) does not reach it" } ?? "the other queue commands do not reach it"
        return UserError(message: "\(name) is the engine's credit queue on --store postgres: queue \(supported) reach it, \(what)",
                         exitCode: ExitStatus.usage)
    }

    /// `body` on the queues kept on the server (made the first time), closed after it.
    static func withQueues<T: Sendable>(_ data: DataOptions, _ body: (MessageQueueService) async throws -> T) async throws -> T {
        let settings = try data.postgresSettings()
        do {
            let databases = try await PostgresDatabases.locate(try await PostgresPool.writableServer(of: settings), create: true)
            return try await PostgresPool.using(databases.queue, connections: 4) { pool in
                let journal = try await PostgresQueueJournal(pool: pool)
                let service = try await MessageQueueService.open(journal: journal, limits: QueueCommand.limits)
                return try await DataOptions.closing(service, close: { await $0.close() }, body)
            }
        } catch {
            throw UserError(error)
        }
    }

    /// The queues kept on the server, read without writing; nil when there are none yet.
    static func storedQueues(_ data: DataOptions) async throws -> QueueState? {
        let settings = try data.postgresSettings()
        do {
            // The primary, for reading too: opening the journal takes its schema's lock.
            let databases = try await PostgresDatabases.locate(try await PostgresPool.writableServer(of: settings), create: false)
            return try await PostgresPool.using(databases.queue, connections: 2) { pool in
                try await PostgresQueueJournal(pool: pool, create: false).load(limits: QueueCommand.limits)
            }
        } catch PostgresStoreError.missing {
            return nil
        } catch {
            throw UserError(error)
        }
    }

    /// `body` on the server's credit queue, its tables as they are (nothing is made); closed after it.
    static func withQueue<T>(_ data: DataOptions, _ body: (PostgresCreditQueue) async throws -> T) async throws -> T {
        let settings = try data.postgresSettings()
        let books = try await userErrors { try await PostgresOperatorBooks(settings: settings, create: false) }
        return try await DataOptions.closing(books, close: { await $0.close() }) { books in
            try await userErrors { try await body(books.queue) }
        }
    }

    /// `name` if it is one of the server's two queues; else the SQLite queue's unknown-queue error.
    static func known(_ name: String, in queue: PostgresCreditQueue) throws -> String {
        guard [queue.name, queue.deadLetterName].contains(name) else { throw UserError(MessageQueueError.unknownQueue(name)) }
        return name
    }

    /// The credit queue's two, then the queues kept on the server, sorted.
    static func list(_ data: DataOptions, json: Bool) async throws {
        var names: [String] = []
        do {
            names = try await withQueue(data) { [$0.name, $0.deadLetterName] }
        } catch let error as UserError where error.userMessage.hasPrefix("no hongbao") {}
        names += try await storedQueues(data)?.queueNames ?? []
        if json { return try Output.json(names) }
        if names.isEmpty { return Output.line("no queues on this server yet") }
        names.forEach { Output.line($0) }
    }

    struct StatsView: Encodable {
        let name: String
        let visible: Int
        let inFlight: Int
        let delayed: Int
        let oldestAgeSeconds: Double?
        let maxReceiveCount: Int?
        let deadLetterQueue: String?
        let deadLettered: Int?
    }

    static func stats(_ data: DataOptions, name: String, json: Bool) async throws {
        let view = try await withQueue(data) { queue -> StatsView in
            let name = try known(name, in: queue)
            let counters = try await queue.counters()
            guard name == queue.name else {
                return StatsView(name: name, visible: counters.deadLettered, inFlight: 0, delayed: 0,
                                 oldestAgeSeconds: nil, maxReceiveCount: nil, deadLetterQueue: nil, deadLettered: nil)
            }
            let age = counters.oldestSentAt.map { max(.zero, SystemClock().now() - $0).secondsDouble }
            return StatsView(name: name, visible: counters.visible, inFlight: counters.inFlight, delayed: counters.delayed,
                             oldestAgeSeconds: age, maxReceiveCount: queue.maxReceiveCount,
                             deadLetterQueue: queue.deadLetterName, deadLettered: counters.deadLettered)
        }
        if json { return try Output.json(view) }
        var fields: [(String, String)] = [
            ("visible", "\(view.visible)"), ("in flight", "\(view.inFlight)"), ("delayed", "\(view.delayed)"),
        ]
        if view.deadLetterQueue != nil {
            fields.append(("oldest age", view.oldestAgeSeconds.map(QueueCommand.secondsText) ?? "—"))
        }
        if let maxReceiveCount = view.maxReceiveCount { fields.append(("max receive count", "\(maxReceiveCount)")) }
        if let deadLetter = view.deadLetterQueue, let dead = view.deadLettered {
            fields += [("dead-letter queue", deadLetter), ("dead-lettered", "\(dead)")]
        }
        QueueCommand.printFields("queue \(view.name) (on PostgreSQL: "
            + (view.deadLetterQueue == nil ? "the credit queue's dead letters)" : "the engine's credit queue)"), fields)
    }

    static func peek(_ data: DataOptions, name: String, limit: Int, json: Bool) async throws {
        let messages = try await withQueue(data) { queue in try await queue.peek(try known(name, in: queue), limit: limit) }
        try QueueCommand.printPeeked(messages.map {
            QueueCommand.Peek.View(id: $0.id, body: $0.body, receiveCount: $0.receiveCount, origin: nil)
        }, queue: name, json: json)
    }

    static func redrive(_ data: DataOptions, name: String, json: Bool) async throws {
        let moved = try await withQueue(data) { queue -> Int in
            guard try known(name, in: queue) == queue.deadLetterName else {
                throw UserError(message: "\(name) is not a dead-letter queue (its dead-letter queue is \(queue.deadLetterName))",
                                exitCode: ExitStatus.usage)
            }
            return try await queue.redrive()
        }
        if json { try Output.json(["redriven": moved]) } else { Output.line("redrove \(moved) message(s)") }
    }
}
