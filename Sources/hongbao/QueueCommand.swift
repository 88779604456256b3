import ArgumentParser
import Engine
import Foundation
import MessageQueue
import Primitives

/// `hongbao queue ...`: the operator's view of the message queue in the data directory.
struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Operate the message queue (the three-copy queue, or the server's with --store postgres).",
        subcommands: [
            Create.self, List.self, Stats.self, Send.self, Commit.self, Rollback.self, Receive.self, Delete.self,
            Peek.self, Redrive.self, Rewind.self, SetRewindWindow.self, Replicas.self, Load.self, LoadHalf.self,
            Consume.self,
        ]
    )

    /// Opens the data directory and its queue, runs `body` (on the queue `name`), and closes the queue (also on
    /// error). With `--store postgres`, the queues kept on the server (`PostgresQueueCommands.withQueues`).
    static func withQueue<T: Sendable>(
        _ data: DataOptions, queue name: String, _ body: (MessageQueueService) async throws -> T
    ) async throws -> T {
        if data.store == .postgres {
            // Refused before anything is opened: the credit queue is not one of the queues kept there.
            if PostgresQueueCommands.isCreditQueue(name) { throw PostgresQueueCommands.refuse(nil, on: name) }
            return try await PostgresQueueCommands.withQueues(data, body)
        }
        let directory = try data.open()
        let service: MessageQueueService
        do {
            service = try MessageQueueService.open(root: directory.queuePath)
        } catch {
            throw UserError(error)
        }
        do {
            return try await DataOptions.closing(service, close: { await $0.close() }, body)
        } catch {
            throw UserError(error)
        }
    }

    static var limits: QueueLimits { Limits.default.queue }

    /// The queue as it is on disk, read without writing (see `QueueInspection`); nil when there is none yet.
    static func inspect(_ data: DataOptions) throws -> QueueInspection? {
        do {
            let directory = try DataDirectory(path: try data.path(), create: false)
            return try MessageQueueService.inspect(root: directory.queuePath)
        } catch {
            throw UserError(error)
        }
    }

    /// The state of an existing queue for the reading commands; an unknown queue is an error. With `--store
    /// postgres`, the queues kept on the server, read without writing.
    static func inspectedState(_ data: DataOptions, queue name: String) async throws -> QueueState {
        let found = data.store == .postgres ? try await PostgresQueueCommands.storedQueues(data) : try inspect(data)?.state
        guard let state = found, state.attributes(of: name) != nil else {
            throw UserError(MessageQueueError.unknownQueue(name))
        }
        return state
    }

    static func seconds(_ duration: Duration) -> Double { duration.secondsDouble }

    /// `title`, then each (key, value) on a line of its own, the values in one column.
    static func printFields(_ title: String, _ fields: [(String, String)]) {
        Output.line(title)
        let width = fields.map { $0.0.count }.max() ?? 0
        for (key, value) in fields { Output.line("  " + Text.padded(key, to: width) + "  " + value) }
    }

    /// Messages `peek` read from `name`: JSON, or a line each (id, receive count, body), or a line saying none.
    static func printPeeked(_ messages: [Peek.View], queue name: String, json: Bool) throws {
        if json { return try Output.json(messages) }
        if messages.isEmpty { return Output.line("no message: \(name) holds none") }
        for message in messages { Output.fields([message.id, String(message.receiveCount), message.body]) }
    }

    static func secondsText(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int64(seconds)) s" : String(format: "%.3f s", seconds)
    }

    /// Repair times in the log: UTC, to the second.
    static let timeFormat: DateFormatter = {
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "UTC")
        format.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return format
    }()
}

extension QueueCommand {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a queue.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Queue name (letters, digits, '-', '_').") var name: String
        @Option(help: "Visibility timeout in seconds, 1 to 43,200 (default 30).") var visibility: String?
        @Option(help: "Delivery delay in seconds, 0 to 3,600 (default 0).") var delay: String?
        @Option(help: "Retention in seconds, 60 to 1,296,000 (default 4 days).") var retention: String?
        @Option(help: "Largest message in bytes, 1,024 to 65,536 (default 65,536).") var maxSize: String?
        @Option(help: "Deliveries before a message is dead-lettered, 1 to 1,000 (default 5).") var maxReceiveCount: String?
        @Option(help: "Dead-letter queue (must exist).") var deadLetter: String?
        @Option(help: "Seconds a half message waits for its commit before the first check-back (default 10).")
        var checkBackDelay: String?
        @Option(help: "Check-backs before an undecided half message is left exhausted, 1 to 1,000 (default 15).")
        var maxCheckBacks: String?
        @Option(help: "How far back `queue rewind` may reach, in seconds; deleted messages are kept that long (default 0: off).")
        var rewindWindow: String?

        func run() async throws {
            let limits = QueueCommand.limits
            let attributes = QueueAttributes(
                visibilityTimeout: try NumberOption.seconds(
                    visibility, "--visibility", limits.minVisibilityTimeout...limits.maxVisibilityTimeout),
                delay: try NumberOption.seconds(delay, "--delay", .zero...limits.maxDelay),
                retention: try NumberOption.seconds(retention, "--retention", limits.minRetention...limits.maxRetention),
                maxMessageSizeBytes: try NumberOption.integer(
                    maxSize, "--max-size", limits.minMessageSizeLimitBytes...limits.maxMessageSizeBytes, unit: "bytes"),
                maxReceiveCount: try NumberOption.integer(
                    maxReceiveCount, "--max-receive-count", limits.minMaxReceiveCount...limits.maxMaxReceiveCount),
                deadLetterQueue: deadLetter,
                checkBackDelay: try NumberOption.seconds(
                    checkBackDelay, "--check-back-delay", limits.minCheckBackDelay...limits.maxCheckBackDelay),
                maxCheckBacks: try NumberOption.integer(
                    maxCheckBacks, "--max-check-backs", limits.minMaxCheckBacks...limits.maxMaxCheckBacks),
                rewindWindow: try NumberOption.seconds(rewindWindow, "--rewind-window", .zero...limits.maxRetention) ?? .zero)
            if data.store == .postgres, let credit = [name, deadLetter].compactMap({ $0 }).first(where: PostgresQueueCommands.isCreditQueue) {
                throw PostgresQueueCommands.refuse("create", on: credit)
            }
            try await QueueCommand.withQueue(data, queue: name) { try await $0.createQueue(name, attributes: attributes) }
            if output.json { try Output.json(["created": name]) } else { Output.line("created queue \(name)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List queues (reads only).")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            if data.store == .postgres { return try await PostgresQueueCommands.list(data, json: output.json) }
            let names = try QueueCommand.inspect(data)?.state.queueNames ?? []
            if output.json { return try Output.json(names) }
            // Said in words, as the other lists do: an empty output read as a command that did nothing.
            if names.isEmpty { return Output.line("no queues in this data directory yet") }
            names.forEach { Output.line($0) }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a queue's attributes and counters (reads only).")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The queue's name.") var name: String

        struct View: Encodable {
            let name: String
            let visible: Int
            let inFlight: Int
            let delayed: Int
            let deadLettered: Int
            let halfPending: Int
            let halfExhausted: Int
            let checkBacks: Int
            let oldestAgeSeconds: Double
            let visibilityTimeoutSeconds: Double
            let delaySeconds: Double
            let retentionSeconds: Double
            let maxMessageSizeBytes: Int
            let maxReceiveCount: Int
            let deadLetterQueue: String?
            let checkBackDelaySeconds: Double
            let maxCheckBacks: Int
            let rewindWindowSeconds: Double
            let keptForRewind: Int
        }

        func run() async throws {
            if data.store == .postgres, PostgresQueueCommands.isCreditQueue(name) {
                return try await PostgresQueueCommands.stats(data, name: name, json: output.json)
            }
            let state = try await QueueCommand.inspectedState(data, queue: name)
            guard let counters = state.counters(of: name, now: SystemClock().now()),
                  let attributes = state.attributes(of: name) else { throw UserError(MessageQueueError.unknownQueue(name)) }
            let view = View(
                name: name, visible: counters.visible, inFlight: counters.inFlight, delayed: counters.delayed,
                deadLettered: counters.deadLettered, halfPending: counters.halfPending,
                halfExhausted: counters.halfExhausted, checkBacks: counters.checkBacks,
                oldestAgeSeconds: QueueCommand.seconds(counters.oldestAge),
                visibilityTimeoutSeconds: QueueCommand.seconds(attributes.visibilityTimeout),
                delaySeconds: QueueCommand.seconds(attributes.delay), retentionSeconds: QueueCommand.seconds(attributes.retention),
                maxMessageSizeBytes: attributes.maxMessageSizeBytes, maxReceiveCount: attributes.maxReceiveCount,
                deadLetterQueue: attributes.deadLetterQueue,
                checkBackDelaySeconds: QueueCommand.seconds(attributes.checkBackDelay), maxCheckBacks: attributes.maxCheckBacks,
                rewindWindowSeconds: QueueCommand.seconds(attributes.rewindWindow),
                keptForRewind: state.consumedMessages(in: name).count)
            if output.json { return try Output.json(view) }
            var fields: [(String, String)] = [
                ("visible", "\(view.visible)"), ("in flight", "\(view.inFlight)"), ("delayed", "\(view.delayed)"),
                ("half messages pending", "\(view.halfPending)"), ("half messages exhausted", "\(view.halfExhausted)"),
                ("check-backs made", "\(view.checkBacks)"),
                // No message, no oldest one: a dash, not an age of 0 s.
                ("oldest age", view.visible + view.inFlight + view.delayed == 0
                    ? "—" : QueueCommand.secondsText(view.oldestAgeSeconds)),
                ("visibility timeout", QueueCommand.secondsText(view.visibilityTimeoutSeconds)),
                ("delay", QueueCommand.secondsText(view.delaySeconds)),
                ("retention", QueueCommand.secondsText(view.retentionSeconds)),
                ("max message size", "\(view.maxMessageSizeBytes) bytes"),
                ("max receive count", "\(view.maxReceiveCount)"),
                ("check-back delay", QueueCommand.secondsText(view.checkBackDelaySeconds)),
                ("max check-backs", "\(view.maxCheckBacks)"),
            ]
            if attributes.rewindWindow > .zero {
                fields += [
                    ("rewind window", QueueCommand.secondsText(view.rewindWindowSeconds)),
                    ("deleted, kept for rewind", "\(view.keptForRewind)"),
                ]
            }
            if let deadLetter = view.deadLetterQueue {
                fields += [("dead-letter queue", deadLetter), ("dead-lettered", "\(view.deadLettered)")]
            }
            QueueCommand.printFields("queue \(name)", fields)
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a message; prints its id once two replicas hold it.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The queue's name.") var name: String
        @Argument(help: "The message body (text, up to the queue's size limit).") var body: String
        @Option(help: "Delivery delay in seconds, 0 to 3,600.") var delay: String?
        @Option(help: "Message id (idempotency key).") var id: String?
        @Flag(help: "Send a half message: invisible until `queue commit` (or gone after `queue rollback`).")
        var half = false

        struct View: Encodable {
            let id: String
            let alreadyPresent: Bool
        }

        func run() async throws {
            let delay = try NumberOption.seconds(delay, "--delay", .zero...QueueCommand.limits.maxDelay)
            let result = try await QueueCommand.withQueue(data, queue: name) { [half] in
                half ? try await $0.sendHalf(name, body: body, id: id, delay: delay)
                    : try await $0.send(name, body: body, id: id, delay: delay)
            }
            if output.json {
                try Output.json(View(id: result.messageID, alreadyPresent: result.alreadyPresent))
            } else {
                Output.line(result.messageID + (result.alreadyPresent ? " (already present)" : ""))
            }
        }
    }

    struct Commit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Commit a half message: it becomes deliverable.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The queue's name.") var name: String
        @Argument(help: "The half message's id.") var id: String

        func run() async throws {
            try await QueueCommand.withQueue(data, queue: name) { try await $0.commitHalf(name, id: id) }
            if output.json { try Output.json(["committed": id]) } else { Output.line("committed \(id)") }
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Roll a half message back: it is gone.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The queue's name.") var name: String
        @Argument(help: "The half message's id.") var id: String

        func run() async throws {
            try await QueueCommand.withQueue(data, queue: name) { try await $0.rollbackHalf(name, id: id) }
            if output.json { try Output.json(["rolledBack": id]) } else { Output.line("rolled back \(id)") }
        }
    }

    struct Receive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Receive a message; prints its receipt and body.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The queue's name.") var name: String
        @Option(help: "Seconds to wait for a message (long poll), 0 to 30.") var wait = "0"
        @Option(help: "Seconds the message stays invisible, 1 to 43,200 (default: the queue's).") var visibility: String?

        struct MessageView: Encodable {
            let id: String
            let receipt: String
            let body: String
            let receiveCount: Int
        }

        /// `{"message": {...}}`, or `{"message": null}` when nothing was visible.
        struct View: Encodable {
            let message: MessageView?

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(message, forKey: .message)
            }

            enum CodingKeys: String, CodingKey { case message }
        }

        func run() async throws {
            let limits = QueueCommand.limits
            let timeout = try NumberOption.seconds(
                visibility, "--visibility", limits.minVisibilityTimeout...limits.maxVisibilityTimeout)
            let pollingWait = try NumberOption.seconds(wait, "--wait", .zero...limits.maxPollingWait) ?? .zero
            let message = try await QueueCommand.withQueue(data, queue: name) {
                try await $0.receive(name, visibilityTimeout: timeout, pollingWait: pollingWait)
            }
            if output.json {
                return try Output.json(View(message: message.map {
                    MessageView(id: $0.id, receipt: $0.receipt.description, body: $0.body, receiveCount: $0.receiveCount)
                }))
            }
            guard let message else { return Output.line("no message: \(name) has nothing visible") }
            Output.fields([message.receipt.description, message.body])
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a received message by its receipt.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The queue's name.") var name: String
        @Argument(help: "The receipt `queue receive` printed for the message (its newest delivery).") var receipt: String

        func run() async throws {
            guard let handle = ReceiptHandle(receipt) else {
                throw UserError(message: "'\(TerminalText.quoted(receipt))' is not a receipt (pass the one `queue receive` printed)",
                                exitCode: ExitStatus.usage)
            }
            try await QueueCommand.withQueue(data, queue: name) { try await $0.delete(name, receipt: handle) }
            if output.json { try Output.json(["deleted": handle.messageID]) } else { Output.line("deleted \(handle.messageID)") }
        }
    }

    struct Peek: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show messages without receiving them (reads only).")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The queue's name.") var name: String
        @Option(name: .short, help: "How many messages, oldest first, 1 to 100,000.") var n = "10"
        @Flag(help: "Show the half messages (not yet committed) instead, with their check-backs.") var half = false

        struct View: Encodable {
            let id: String
            let body: String
            let receiveCount: Int
            let origin: String?
        }

        struct HalfView: Encodable {
            let id: String
            let body: String
            let checkBacks: Int
        }

        func run() async throws {
            let limit = try NumberOption.integer(n, "-n", 1...QueueCommand.limits.maxPeekCount)
            if data.store == .postgres, PostgresQueueCommands.isCreditQueue(name) {
                if half { throw PostgresQueueCommands.refuse("peek --half", on: name) }
                return try await PostgresQueueCommands.peek(data, name: name, limit: limit, json: output.json)
            }
            let state = try await QueueCommand.inspectedState(data, queue: name)
            if half {
                let halves = state.halfMessages(in: name).prefix(limit)
                if output.json {
                    return try Output.json(halves.map { HalfView(id: $0.id, body: $0.body, checkBacks: $0.checkBacks) })
                }
                if halves.isEmpty { return Output.line("no half message: \(name) holds none") }
                for half in halves { Output.fields([half.id, String(half.checkBacks), half.body]) }
                return
            }
            let messages = state.messages(in: name).prefix(limit)
            try QueueCommand.printPeeked(messages.map {
                View(id: $0.id, body: $0.body, receiveCount: $0.receiveCount, origin: $0.origin)
            }, queue: name, json: output.json)
        }
    }

    struct Redrive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move every message of a dead-letter queue back to the queue it came from.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The dead-letter queue.") var name: String

        func run() async throws {
            if data.store == .postgres, PostgresQueueCommands.isCreditQueue(name) {
                return try await PostgresQueueCommands.redrive(data, name: name, json: output.json)
            }
            let moved = try await QueueCommand.withQueue(data, queue: name) { try await $0.redrive(deadLetterQueue: name) }
            if output.json { try Output.json(["redriven": moved]) } else { Output.line("redrove \(moved) message(s)") }
        }
    }

    struct Rewind: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deliver again every message sent in the last N seconds, deleted ones included (CMQ's rewind).",
            discussion: """
                The queue must keep deleted messages: give it a rewind window (`queue create --rewind-window` or \
                `queue rewind-window`). Messages past retention are gone; messages never delivered are left as they \
                are; receipts handed out before the rewind stop working.
                """)
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The queue.") var name: String
        @Option(help: "How far back to rewind, in seconds (1 to the queue's rewind window).") var seconds: String

        func run() async throws {
            let window = try NumberOption.seconds(seconds, "--seconds", .seconds(1)...QueueCommand.limits.maxRetention) ?? .zero
            let rewound = try await QueueCommand.withQueue(data, queue: name) { try await $0.rewind(name, window: window) }
            if output.json {
                try Output.json(["rewound": rewound])
            } else {
                Output.line("rewound \(name): \(rewound) message(s) deliverable again")
            }
        }
    }

    struct SetRewindWindow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rewind-window",
            abstract: "Set how far back a queue can be rewound; deleted messages are kept that long (0 turns it off).")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The queue.") var name: String
        @Argument(help: "Seconds, 0 to 1,296,000 (at most the retention is kept).") var seconds: String

        func run() async throws {
            let window = try NumberOption.seconds(seconds, "rewind window", .zero...QueueCommand.limits.maxRetention) ?? .zero
            try await QueueCommand.withQueue(data, queue: name) { service in
                var attributes = try await service.attributes(of: name)
                attributes.rewindWindow = window
                try await service.setAttributes(name, attributes)
            }
            let whole = window.components.seconds
            if output.json {
                struct View: Encodable { let queue: String, rewindWindowSeconds: Int64 }
                try Output.json(View(queue: name, rewindWindowSeconds: whole))
            } else {
                Output.line(whole == 0 ? "\(name): rewinding off" : "\(name): can be rewound \(whole) s back")
            }
        }
    }

    struct Replicas: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each replica as it is on disk (state, last sequence, lag) and every repair made (reads only).")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions

        struct ReplicaView: Encodable {
            let replica: String
            let state: String
            let lastSequence: Int64?
            let lag: Int64
            let damage: String?
        }

        struct View: Encodable {
            let replicas: [ReplicaView]
            let awaitingRepair: [String]
            let repairs: [ReplicaRepair]
        }

        func run() async throws {
            if data.store == .postgres {
                throw UserError(message: "queue replicas shows the three SQLite copies; on --store postgres the copies are the cluster's servers: hongbao cluster status",
                                exitCode: ExitStatus.usage)
            }
            guard let inspection = try QueueCommand.inspect(data) else {
                if output.json { return try Output.json(View(replicas: [], awaitingRepair: [], repairs: [])) }
                return Output.line("no queue in this data directory yet")
            }
            let views = inspection.replicas.map { finding in
                ReplicaView(replica: finding.id.directoryName,
                            state: finding.damage == nil ? (finding.lag > 0 ? "behind" : "up") : "damaged",
                            lastSequence: finding.lastSequence, lag: finding.lag, damage: finding.damage)
            }
            if output.json {
                return try Output.json(View(replicas: views, awaitingRepair: inspection.pendingRepairs,
                                            repairs: inspection.repairs))
            }
            let rows = views.map { view in
                [view.replica, view.state, view.lastSequence.map { "\($0)" } ?? "-", "\(view.lag)", view.damage ?? ""]
            }
            Text.table(header: ["replica", "state", "last", "lag", "damage"], rows: rows, rightAligned: [2, 3])
                .forEach(Output.line)
            for line in inspection.pendingRepairs { Output.line("awaiting repair: \(line)") }
            let repairs = inspection.repairs
            Output.line(repairs.isEmpty ? "no repairs recorded" : "repairs recorded (\(repairs.count), newest last):")
            for repair in repairs.suffix(20) {
                let at = Date(timeIntervalSince1970: Double(repair.atMilliseconds) / 1_000)
                Output.line("  " + QueueCommand.timeFormat.string(from: at) + "  " + repair.summary)
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
            try await QueueCommand.withQueue(data, queue: name) { service in
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
            try await QueueCommand.withQueue(data, queue: name) { service in
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
            try await QueueCommand.withQueue(data, queue: name) { service in
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
