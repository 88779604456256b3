import ArgumentParser
import Engine
import Foundation
import MessageQueue
import Primitives

/// `hongbao queue ...`: the operator's view of the message queue in the data directory.
struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Operate the three-copy message queue.",
        subcommands: [
            Create.self, List.self, Stats.self, Send.self, Commit.self, Rollback.self, Receive.self, Delete.self,
            Peek.self, Redrive.self, Replicas.self, Load.self, LoadHalf.self, Consume.self,
        ]
    )

    /// Opens the data directory and its queue, runs `body`, and closes the queue (also on error).
    static func withQueue<T>(
        _ data: DataOptions, _ body: (MessageQueueService) async throws -> T
    ) async throws -> T {
        let directory = try data.open()
        let service: MessageQueueService
        do {
            service = try MessageQueueService.open(root: directory.queuePath)
        } catch {
            throw UserError(error)
        }
        do {
            let result = try await body(service)
            await service.close()
            return result
        } catch {
            await service.close()
            throw UserError(error)
        }
    }

    static func duration(seconds: Double?) -> Duration? {
        seconds.map { .milliseconds(Int64(($0 * 1_000).rounded())) }
    }

    static func printJSON(_ value: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static func seconds(_ duration: Duration) -> Double { duration.secondsDouble }
}

extension QueueCommand {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a queue.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Queue name (letters, digits, '-', '_').") var name: String
        @Option(help: "Visibility timeout in seconds (default 30).") var visibility: Double?
        @Option(help: "Delivery delay in seconds (default 0).") var delay: Double?
        @Option(help: "Retention in seconds (default 4 days).") var retention: Double?
        @Option(help: "Largest message in bytes (default 65536).") var maxSize: Int?
        @Option(help: "Deliveries before a message is dead-lettered (default 5).") var maxReceiveCount: Int?
        @Option(help: "Dead-letter queue (must exist).") var deadLetter: String?
        @Option(help: "Seconds a half message waits for its commit before the first check-back (default 10).")
        var checkBackDelay: Double?
        @Option(help: "Check-backs before an undecided half message is left exhausted (default 15).")
        var maxCheckBacks: Int?

        func run() async throws {
            let attributes = QueueAttributes(
                visibilityTimeout: QueueCommand.duration(seconds: visibility),
                delay: QueueCommand.duration(seconds: delay), retention: QueueCommand.duration(seconds: retention),
                maxMessageSizeBytes: maxSize, maxReceiveCount: maxReceiveCount, deadLetterQueue: deadLetter,
                checkBackDelay: QueueCommand.duration(seconds: checkBackDelay), maxCheckBacks: maxCheckBacks)
            try await QueueCommand.withQueue(data) { try await $0.createQueue(name, attributes: attributes) }
            if output.json { try QueueCommand.printJSON(["created": name]) } else { print("created queue \(name)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List queues.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let names = try await QueueCommand.withQueue(data) { await $0.listQueues() }
            if output.json { try QueueCommand.printJSON(names) } else { names.forEach { print($0) } }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a queue's attributes and counters.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument var name: String

        func run() async throws {
            let (counters, attributes) = try await QueueCommand.withQueue(data) {
                (try await $0.counters(of: name), try await $0.attributes(of: name))
            }
            let fields: [(String, Any)] = [
                ("visible", counters.visible), ("in_flight", counters.inFlight), ("delayed", counters.delayed),
                ("dead_lettered", counters.deadLettered),
                ("half_pending", counters.halfPending), ("half_exhausted", counters.halfExhausted),
                ("check_backs", counters.checkBacks),
                ("oldest_age_seconds", QueueCommand.seconds(counters.oldestAge)),
                ("visibility_timeout_seconds", QueueCommand.seconds(attributes.visibilityTimeout)),
                ("delay_seconds", QueueCommand.seconds(attributes.delay)),
                ("retention_seconds", QueueCommand.seconds(attributes.retention)),
                ("max_message_size_bytes", attributes.maxMessageSizeBytes),
                ("max_receive_count", attributes.maxReceiveCount),
                ("dead_letter_queue", attributes.deadLetterQueue ?? ""),
                ("check_back_delay_seconds", QueueCommand.seconds(attributes.checkBackDelay)),
                ("max_check_backs", attributes.maxCheckBacks),
            ]
            if output.json {
                try QueueCommand.printJSON(Dictionary(uniqueKeysWithValues: fields + [("name", name)]))
            } else {
                print("queue \(name)")
                for (key, value) in fields { print("  \(key.replacingOccurrences(of: "_", with: " ")): \(value)") }
            }
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a message; prints its id once two replicas hold it.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument var name: String
        @Argument var body: String
        @Option(help: "Delivery delay in seconds.") var delay: Double?
        @Option(help: "Message id (idempotency key).") var id: String?
        @Flag(help: "Send a half message: invisible until `queue commit` (or gone after `queue rollback`).")
        var half = false

        func run() async throws {
            let delay = QueueCommand.duration(seconds: delay)
            let result = try await QueueCommand.withQueue(data) { [half] in
                half ? try await $0.sendHalf(name, body: body, id: id, delay: delay)
                    : try await $0.send(name, body: body, id: id, delay: delay)
            }
            if output.json {
                try QueueCommand.printJSON(["id": result.messageID, "already_present": result.alreadyPresent])
            } else {
                print(result.messageID + (result.alreadyPresent ? " (already present)" : ""))
            }
        }
    }

    struct Commit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Commit a half message: it becomes deliverable.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument var name: String
        @Argument(help: "The half message's id.") var id: String

        func run() async throws {
            try await QueueCommand.withQueue(data) { try await $0.commitHalf(name, id: id) }
            if output.json { try QueueCommand.printJSON(["committed": id]) } else { print("committed \(id)") }
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Roll a half message back: it is gone.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument var name: String
        @Argument(help: "The half message's id.") var id: String

        func run() async throws {
            try await QueueCommand.withQueue(data) { try await $0.rollbackHalf(name, id: id) }
            if output.json { try QueueCommand.printJSON(["rolled_back": id]) } else { print("rolled back \(id)") }
        }
    }

    struct Receive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Receive a message; prints its receipt and body.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument var name: String
        @Option(help: "Seconds to wait for a message (long poll, up to 30).") var wait: Double = 0
        @Option(help: "Seconds the message stays invisible (default: the queue's).") var visibility: Double?

        func run() async throws {
            let message = try await QueueCommand.withQueue(data) {
                try await $0.receive(
                    name, visibilityTimeout: QueueCommand.duration(seconds: visibility),
                    pollingWait: QueueCommand.duration(seconds: wait) ?? .zero)
            }
            guard let message else {
                if output.json { try QueueCommand.printJSON([String: Any]()) } else { print("no message") }
                return
            }
            if output.json {
                try QueueCommand.printJSON([
                    "id": message.id, "receipt": message.receipt.description, "body": message.body,
                    "receive_count": message.receiveCount,
                ])
            } else {
                print("\(message.receipt)\t\(message.body)")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a received message by its receipt.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument var name: String
        @Argument var receipt: String

        func run() async throws {
            guard let handle = ReceiptHandle(receipt) else {
                throw UserError(message: "'\(receipt)' is not a receipt (it looks like COUNT:ID)", exitCode: 2)
            }
            try await QueueCommand.withQueue(data) { try await $0.delete(name, receipt: handle) }
            if output.json { try QueueCommand.printJSON(["deleted": handle.messageID]) } else { print("deleted \(handle.messageID)") }
        }
    }

    struct Peek: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show messages without receiving them.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument var name: String
        @Option(name: .short, help: "How many messages.") var n: Int = 10
        @Flag(help: "Show the half messages (not yet committed) instead, with their check-backs.") var half = false

        func run() async throws {
            if half { return try await peekHalf() }
            let messages = try await QueueCommand.withQueue(data) { try await $0.peek(name, count: n) }
            if output.json {
                try QueueCommand.printJSON(messages.map {
                    ["id": $0.id, "body": $0.body, "receive_count": $0.receiveCount, "origin": $0.origin ?? ""]
                })
            } else {
                for message in messages { print("\(message.id)\t\(message.receiveCount)\t\(message.body)") }
            }
        }

        private func peekHalf() async throws {
            let halves = try await QueueCommand.withQueue(data) { try await $0.halfMessages(in: name).prefix(max(0, n)) }
            if output.json {
                try QueueCommand.printJSON(halves.map {
                    ["id": $0.id, "body": $0.body, "check_backs": $0.checkBacks] as [String: Any]
                })
            } else {
                for half in halves { print("\(half.id)\t\(half.checkBacks)\t\(half.body)") }
            }
        }
    }

    struct Redrive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move every message of a dead-letter queue back to the queue it came from.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The dead-letter queue.") var name: String

        func run() async throws {
            let moved = try await QueueCommand.withQueue(data) { try await $0.redrive(deadLetterQueue: name) }
            if output.json { try QueueCommand.printJSON(["redriven": moved]) } else { print("redrove \(moved) message(s)") }
        }
    }

    struct Replicas: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each replica's state, last sequence and lag.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let statuses = try await QueueCommand.withQueue(data) { await $0.replicaStatuses() }
            if output.json {
                try QueueCommand.printJSON(statuses.map {
                    ["replica": $0.id.rawValue, "state": $0.health.label, "last_sequence": $0.appliedSequence, "lag": $0.lag]
                })
            } else {
                for status in statuses {
                    print("replica-\(status.id)\t\(status.health.label)\tlast \(status.appliedSequence)\tlag \(status.lag)")
                }
            }
        }
    }

    /// Hidden: sends messages one by one and prints each id as soon as it is acknowledged (crash tests).
    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(shouldDisplay: false)
        @OptionGroup var data: DataOptions
        @Argument var name: String
        @Option var count: Int = 1_000
        @Option(help: "Prefix of the message ids (id = PREFIX-INDEX).") var prefix = "load"

        func run() async throws {
            try await QueueCommand.withQueue(data) { service in
                if await !service.listQueues().contains(name) { try await service.createQueue(name) }
                for index in 0..<count {
                    let result = try await service.send(name, body: "load \(index)", id: "\(prefix)-\(index)")
                    // Written straight to the file descriptor: nothing is buffered when the process is killed.
                    FileHandle.standardOutput.write(Data((result.messageID + "\n").utf8))
                }
            }
        }
    }

    /// Hidden: sends half messages one by one, printing `half ID` once each is acknowledged, then commits
    /// the even ones (`committed ID`) and rolls back the odd ones (`rolled-back ID`) (crash tests).
    struct LoadHalf: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "load-half", shouldDisplay: false)
        @OptionGroup var data: DataOptions
        @Argument var name: String
        @Option var count: Int = 1_000
        @Option(help: "Prefix of the message ids (id = PREFIX-INDEX).") var prefix = "half"

        func run() async throws {
            try await QueueCommand.withQueue(data) { service in
                if await !service.listQueues().contains(name) { try await service.createQueue(name) }
                for index in 0..<count {
                    let id = "\(prefix)-\(index)"
                    _ = try await service.sendHalf(name, body: "half \(index)", id: id)
                    FileHandle.standardOutput.write(Data(("half " + id + "\n").utf8))
                    if index % 2 == 0 {
                        try await service.commitHalf(name, id: id)
                        FileHandle.standardOutput.write(Data(("committed " + id + "\n").utf8))
                    } else {
                        try await service.rollbackHalf(name, id: id)
                        FileHandle.standardOutput.write(Data(("rolled-back " + id + "\n").utf8))
                    }
                }
            }
        }
    }

    /// Hidden: receives and deletes messages one by one, printing `received ID` before each delete and
    /// `deleted ID` once the delete is acknowledged (crash tests).
    struct Consume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(shouldDisplay: false)
        @OptionGroup var data: DataOptions
        @Argument var name: String
        @Option var count: Int = 1_000

        func run() async throws {
            try await QueueCommand.withQueue(data) { service in
                for _ in 0..<count {
                    guard let message = try await service.receive(name) else { return }
                    FileHandle.standardOutput.write(Data(("received " + message.id + "\n").utf8))
                    try await service.delete(name, receipt: message.receipt)
                    FileHandle.standardOutput.write(Data(("deleted " + message.id + "\n").utf8))
                }
            }
        }
    }
}
