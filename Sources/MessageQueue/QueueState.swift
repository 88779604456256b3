import Foundation
import Primitives

/// The pure core of the queue: all queues and messages, the next sequence number, and the rules. Verbs
/// validate first (throwing leaves the state untouched), then return the operations they performed, already
/// applied here, for the caller to replicate. `apply` replays an operation; replicas and recovery use it.
public struct QueueState: Sendable {
    let limits: QueueLimits
    var queues: [String: QueueRecord] = [:]
    /// The sequence number of the last operation applied.
    public private(set) var lastSequence: Int64

    public init(limits: QueueLimits, lastSequence: Int64 = 0) {
        self.limits = limits
        self.lastSequence = lastSequence
    }

    /// Queue names, sorted.
    public var queueNames: [String] { queues.keys.sorted() }

    /// A queue's attributes, or nil if there is no such queue.
    public func attributes(of queue: String) -> QueueAttributes? { queues[queue]?.attributes }

    /// All messages of a queue in arrival order (for peek, audits and tests).
    public func messages(in queue: String) -> [StoredMessage] {
        (queues[queue]?.messages.values.sorted { $0.order < $1.order }) ?? []
    }

    /// The message of a queue with that id, if the queue holds it.
    public func message(id: String, in queue: String) -> StoredMessage? { queues[queue]?.messages[id] }

    /// The deleted messages a queue keeps for rewinding, in arrival order.
    public func consumedMessages(in queue: String) -> [StoredMessage] {
        (queues[queue]?.consumed.values.sorted { $0.order < $1.order }) ?? []
    }

    func record(_ queue: String) throws(MessageQueueError) -> QueueRecord {
        guard let record = queues[queue] else { throw .unknownQueue(queue) }
        return record
    }

    /// Loads a queue as a replica stores it (recovery).
    mutating func load(_ record: QueueRecord) {
        var record = record
        record.rebuildDeduplication()
        queues[record.name] = record
    }
    mutating func setLastSequence(_ sequence: Int64) { lastSequence = sequence }
    mutating func setTotals(_ totals: QueueTotals, of queue: String) { queues[queue]?.totals = totals }

    /// Assigns the next sequence number and applies the operation.
    mutating func perform(_ operation: QueueOperation) -> QueueOperation {
        var operation = operation
        operation.sequence = lastSequence + 1
        apply(operation)
        return operation
    }

    /// Applies one operation. Operations are facts: an operation on a missing queue or message is a no-op,
    /// exactly as in the replicas' SQL, so that replay is deterministic.
    public mutating func apply(_ operation: QueueOperation) {
        lastSequence = operation.sequence
        switch operation.kind {
        case .createQueue:
            guard queues[operation.queue] == nil,
                  let attributes = QueueAttributes(encoded: operation.text, limits: limits) else { return }
            queues[operation.queue] = QueueRecord(
                name: operation.queue, attributes: attributes, createdAt: operation.time)
        case .deleteQueue:
            queues[operation.queue] = nil
        case .send:
            guard queues[operation.queue]?.messages[operation.messageID] == nil else { return }
            let fields = FifoFields.unframe(operation.extra)
            queues[operation.queue]?.insert(StoredMessage(
                id: operation.messageID, body: operation.text, sentAt: operation.time,
                visibleAt: operation.visibleAt, receiveCount: 0, origin: nil, order: operation.sequence,
                attributes: fields.attributes, groupID: fields.groupID, deduplicationID: fields.deduplicationID))
            queues[operation.queue]?.totals.sent += 1
        case .lease:
            guard queues[operation.queue]?.messages[operation.messageID] != nil else { return }
            queues[operation.queue]?.setVisibleAt(
                operation.messageID, operation.visibleAt, receiveCount: operation.count,
                receivedAt: operation.time.millisecondsSinceEpoch > 0 ? operation.time : nil)
            queues[operation.queue]?.messages[operation.messageID]?.receiptNonce = operation.text
            queues[operation.queue]?.totals.received += 1
            if operation.count > 1 { queues[operation.queue]?.totals.redeliveries += 1 }
        case .changeVisibility:
            queues[operation.queue]?.setVisibleAt(operation.messageID, operation.visibleAt)
        case .delete, .purge:
            guard var message = queues[operation.queue]?.messages.removeValue(forKey: operation.messageID) else {
                if operation.kind == .purge { queues[operation.queue]?.consumed[operation.messageID] = nil }
                return
            }
            if operation.kind == .delete {
                queues[operation.queue]?.totals.deleted += 1
                if operation.count == 1 {
                    message.consumedAt = operation.time
                    message.receiptNonce = ""
                    queues[operation.queue]?.consumed[message.id] = message
                }
            } else {
                queues[operation.queue]?.totals.purged += 1
            }
            queues[operation.queue]?.compactIfNeeded()
        case .rewind:
            queues[operation.queue]?.rewind(sentSince: operation.visibleAt, at: operation.time)
        case .deadLetter, .redrive:
            move(operation)
        case .sendHalf, .commitHalf, .rollbackHalf, .checkBack:
            applyHalf(operation)
        case .setAttributes:
            guard queues[operation.queue] != nil,
                  let attributes = QueueAttributes(encoded: operation.text, limits: limits) else { return }
            queues[operation.queue]?.attributes = attributes
        }
    }

    private mutating func move(_ operation: QueueOperation) {
        let destination = operation.text
        guard var message = queues[operation.queue]?.messages.removeValue(forKey: operation.messageID) else { return }
        queues[operation.queue]?.compactIfNeeded()
        guard queues[destination] != nil, queues[destination]?.messages[message.id] == nil else { return }
        message.visibleAt = operation.visibleAt
        message.order = operation.sequence
        message.receiptNonce = ""
        if operation.kind == .deadLetter {
            message.origin = operation.queue
            queues[operation.queue]?.totals.deadLettered += 1
        } else {
            message.origin = nil
            message.receiveCount = 0
            queues[destination]?.totals.redriven += 1
        }
        queues[destination]?.insert(message)
    }
}

extension QueueAttributes {
    /// The fields added for SQS clients, stored as JSON after a ninth `|` (absent when all are at their
    /// defaults, so queues that use none of them are stored exactly as before).
    private struct Extension: Codable, Equatable {
        var receiveWaitMilliseconds: Int64 = 0
        var redriveAllowPolicy: String?
        var tags: [String: String] = [:]
        var properties: [String: String] = [:]
        /// Absent (not zero) when rewinding is off, so older encodings read back unchanged.
        var rewindMilliseconds: Int64?
        /// Absent unless the queue is a FIFO queue.
        var fifo: Bool?
    }

    /// The attributes as stored in a `createQueue` or `setAttributes` operation: milliseconds and counts,
    /// `|`-separated, then the extension's JSON if any. Queues created before transactional messages stored
    /// six fields; they read back with the default check-back settings of the limits in force.
    var encoded: String {
        var parts = [
            String(visibilityTimeout.wholeMilliseconds), String(delay.wholeMilliseconds),
            String(retention.wholeMilliseconds), String(maxMessageSizeBytes), String(maxReceiveCount),
            deadLetterQueue ?? "", String(checkBackDelay.wholeMilliseconds), String(maxCheckBacks),
        ]
        let extensionFields = Extension(
            receiveWaitMilliseconds: receiveWaitTime.wholeMilliseconds, redriveAllowPolicy: redriveAllowPolicy,
            tags: tags, properties: properties, rewindMilliseconds: rewindWindow > .zero ? rewindWindow.wholeMilliseconds : nil,
            fifo: fifo ? true : nil)
        if extensionFields != Extension(), let json = try? JSONEncoder.sorted.encode(extensionFields) {
            parts.append(String(decoding: json, as: UTF8.self))
        }
        return parts.joined(separator: "|")
    }

    init?(encoded: String, limits: QueueLimits) {
        let parts = encoded.split(separator: "|", maxSplits: 8, omittingEmptySubsequences: false).map(String.init)
        guard [6, 8, 9].contains(parts.count), let visibility = Int64(parts[0]), let delay = Int64(parts[1]),
              let retention = Int64(parts[2]), let size = Int(parts[3]), let receives = Int(parts[4])
        else { return nil }
        var checkBackDelay: Duration?
        var maxCheckBacks: Int?
        if parts.count >= 8 {
            guard let milliseconds = Int64(parts[6]), let count = Int(parts[7]) else { return nil }
            checkBackDelay = .milliseconds(milliseconds)
            maxCheckBacks = count
        }
        var extensionFields = Extension()
        if parts.count == 9 {
            guard let decoded = try? JSONDecoder().decode(Extension.self, from: Data(parts[8].utf8)) else { return nil }
            extensionFields = decoded
        }
        self.init(
            limits: limits, visibilityTimeout: .milliseconds(visibility), delay: .milliseconds(delay),
            retention: .milliseconds(retention), maxMessageSizeBytes: size, maxReceiveCount: receives,
            deadLetterQueue: parts[5].isEmpty ? nil : parts[5], checkBackDelay: checkBackDelay,
            maxCheckBacks: maxCheckBacks, receiveWaitTime: .milliseconds(extensionFields.receiveWaitMilliseconds),
            redriveAllowPolicy: extensionFields.redriveAllowPolicy, tags: extensionFields.tags,
            properties: extensionFields.properties,
            rewindWindow: .milliseconds(extensionFields.rewindMilliseconds ?? 0), fifo: extensionFields.fifo ?? false)
    }
}

extension JSONEncoder {
    /// Sorted keys: the same attributes always encode to the same text on every replica.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
