import Engine
import Foundation
import MessageQueue
import PostgresStores
import Primitives

/// The `queue` commands on `--store postgres`. There the queue is the credit queue the engine writes, in the
/// server's `queue_message` table, and its dead-letter queue: `list`, `stats` and `peek` read them, `redrive`
/// moves the dead letters back. The others (create, send, receive, delete, half messages, rewind, replicas) are
/// the three-copy SQLite queue's and refuse, before anything is opened.
enum PostgresQueueCommands {
    /// The subcommands that run on PostgreSQL.
    static let supported = "list, stats, peek and redrive"

    /// Refuses a `queue` subcommand that has no PostgreSQL form (exit 2, nothing opened).
    static func refuse(_ subcommand: String) -> UserError {
        UserError(message: "queue \(subcommand) does not run on --store postgres: the queue there is the engine's credit queue (queue \(supported) do)",
                  exitCode: ExitStatus.usage)
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

    static func list(_ data: DataOptions, json: Bool) async throws {
        let names = try await withQueue(data) { [$0.name, $0.deadLetterName] }
        if json { return try Output.json(names) }
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
