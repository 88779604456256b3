import Crypto
import Foundation
import MessageQueue
import Primitives

/// What the endpoint stores beside a body (the queue keeps it as an opaque string): message attributes,
/// system attributes (`AWSTraceHeader`) and the message group id. Binary values are base64.
struct MessageEnvelope: Codable, Equatable {
    struct Value: Codable, Equatable {
        var t: String
        var s: String?
        var b: String?
    }

    var a: [String: Value]?
    var y: [String: Value]?
    var g: String?
    var d: String?

    init(
        attributes: [String: MessageAttributeValue], system: [String: MessageAttributeValue], groupID: String?,
        deduplicationID: String? = nil
    ) {
        a = attributes.isEmpty ? nil : attributes.mapValues(MessageEnvelope.value)
        y = system.isEmpty ? nil : system.mapValues(MessageEnvelope.value)
        g = groupID
        d = deduplicationID
    }

    static func value(_ v: MessageAttributeValue) -> Value {
        Value(t: v.dataType, s: v.stringValue, b: v.binaryValue.map { Data($0).base64EncodedString() })
    }

    static func attribute(_ v: Value) -> MessageAttributeValue {
        MessageAttributeValue(dataType: v.t, stringValue: v.s, binaryValue: v.b.flatMap { Data(base64Encoded: $0) }.map(Array.init))
    }

    var isEmpty: Bool { a == nil && y == nil && g == nil && d == nil }

    var encoded: String {
        guard !isEmpty, let data = try? JSONEncoder.sortedKeys.encode(self) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ text: String) -> MessageEnvelope {
        guard !text.isEmpty, let envelope = try? JSONDecoder().decode(MessageEnvelope.self, from: Data(text.utf8)) else {
            return MessageEnvelope(attributes: [:], system: [:], groupID: nil)
        }
        return envelope
    }

    var attributes: [String: MessageAttributeValue] { (a ?? [:]).mapValues(MessageEnvelope.attribute) }
    var system: [String: MessageAttributeValue] { (y ?? [:]).mapValues(MessageEnvelope.attribute) }
}

extension JSONEncoder {
    static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}

/// One message of a send, validated.
struct ValidatedMessage {
    var body: String
    var delay: Duration?
    var attributes: [String: MessageAttributeValue]
    var system: [String: MessageAttributeValue]
    var groupID: String?
    var deduplicationID: String?
    /// On a FIFO queue: what the queue deduplicates on (the deduplication id, or with the scope
    /// `messageGroup` a hash of group and id), and the group it orders by.
    var fifo: (group: String, key: String)?

    var envelope: MessageEnvelope {
        MessageEnvelope(attributes: attributes, system: system, groupID: groupID, deduplicationID: deduplicationID)
    }

    /// The size SQS counts: body and attributes.
    var size: Int { body.utf8.count + attributes.reduce(0) { $0 + $1.value.size(name: $1.key) } }

    var outgoing: OutgoingMessage {
        OutgoingMessage(
            body: body, id: RandomUUID.makeTimeOrdered(), delay: delay, attributes: envelope.encoded,
            groupID: fifo?.group, deduplicationID: fifo?.key)
    }

    func result(_ sent: SendResult) -> [String: Any] {
        var out = result(id: sent.messageID)
        if fifo != nil { out["SequenceNumber"] = SQSEndpoint.sequenceNumber(sent.order) }
        return out
    }

    func result(id: String) -> [String: Any] {
        var out: [String: Any] = ["MessageId": id, "MD5OfMessageBody": SQSChecksum.body(body)]
        if !attributes.isEmpty { out["MD5OfMessageAttributes"] = SQSChecksum.attributes(attributes) }
        if !system.isEmpty { out["MD5OfMessageSystemAttributes"] = SQSChecksum.attributes(system) }
        return out
    }
}

extension SQSEndpoint {
    /// Characters SQS accepts in a body: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
    static func validBody(_ body: String) -> Bool {
        body.unicodeScalars.allSatisfy { scalar in
            let v = scalar.value
            return v == 0x9 || v == 0xA || v == 0xD || (0x20...0xD7FF).contains(v) || (0xE000...0xFFFD).contains(v)
                || (0x10000...0x10FFFF).contains(v)
        }
    }

    static func validAttributeName(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return !name.isEmpty && name.utf8.count <= 256 && !name.hasPrefix(".") && !name.hasSuffix(".")
            && !name.contains("..") && !lowered.hasPrefix("aws.") && !lowered.hasPrefix("amazon.")
            && name.unicodeScalars.allSatisfy {
                ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "-_.".unicodeScalars.contains($0)
            }
    }

    /// SQS's SequenceNumber: the message's place in arrival order, as 20 digits.
    static func sequenceNumber(_ order: Int64) -> String {
        let digits = String(max(0, order))
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    /// A FIFO queue's demands on a message, checked (for a batch, every entry) before anything is sent, in the
    /// order SQS and moto check them.
    static func checkFifo(_ p: Parameters, _ attributes: QueueAttributes) throws(SQSError) {
        guard attributes.fifo else { return }
        let contentBased = attributes.properties["ContentBasedDeduplication"] == "true"
        guard try p.string("MessageGroupId") != nil else { throw SQSError.missingParameter("MessageGroupId") }
        let deduplication = try p.string("MessageDeduplicationId")
        guard contentBased || deduplication != nil else {
            throw SQSError.invalidParameter("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
        }
        if let seconds = try p.int("DelaySeconds"), seconds != 0 {
            throw SQSError.invalidParameter("Value \(seconds) for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.")
        }
    }

    /// A FIFO message's group and deduplication key (`checkFifo` passed). A group or deduplication id is 1 to
    /// 128 characters of letters, digits and punctuation.
    static func fifoFields(
        _ body: String, group: String?, deduplication: String?, _ attributes: QueueAttributes
    ) throws(SQSError) -> (group: String, key: String, shown: String) {
        guard let group else { throw SQSError.missingParameter("MessageGroupId") }
        let shown = deduplication ?? SQSChecksum.hex(SHA256.hash(data: Array(body.utf8)))
        for (name, value) in [("MessageGroupId", group), ("MessageDeduplicationId", shown)] {
            guard (1...128).contains(value.utf8.count),
                  value.unicodeScalars.allSatisfy({ $0.isASCII && (0x21...0x7E).contains($0.value) })
            else {
                throw SQSError.invalidParameter("Value \(value) for parameter \(name) is invalid. Reason: must be 1 to 128 characters of letters, digits and punctuation.")
            }
        }
        let key = attributes.properties["DeduplicationScope"] == "messageGroup"
            ? SQSChecksum.hex(SHA256.hash(data: Array("\(group)\n\(shown)".utf8))) : shown
        return (group, key, shown)
    }

    func validateMessage(_ p: Parameters, maxSize: Int, queue: QueueAttributes) throws(SQSError) -> ValidatedMessage {
        try SQSEndpoint.checkFifo(p, queue)
        guard let body = try p.string("MessageBody") else { throw SQSError.missingParameter("MessageBody") }
        guard !body.isEmpty else { throw SQSError.missingParameter("MessageBody") }
        guard SQSEndpoint.validBody(body) else {
            throw SQSError(type: "InvalidMessageContents",
                           message: "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
        }
        var delay: Duration?
        if let seconds = try p.int("DelaySeconds") {
            guard (0...SQSLimits.maxDelaySeconds).contains(seconds) else {
                throw SQSError.invalidParameter("Value \(seconds) for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.")
            }
            delay = .seconds(seconds)
        }
        var attributes: [String: MessageAttributeValue] = [:]
        let given = try p.map("MessageAttributes")
        guard given.count <= SQSLimits.maxMessageAttributes else {
            throw SQSError.invalidParameter("Number of message attributes [\(given.count)] exceeds the allowed maximum [\(SQSLimits.maxMessageAttributes)].")
        }
        for (name, value) in given {
            guard SQSEndpoint.validAttributeName(name) else {
                throw SQSError.invalidParameter("The message attribute name '\(name)' is invalid. Attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) characters.")
            }
            attributes[name] = try MessageAttributeValue.parse(name: name, value)
        }
        var system: [String: MessageAttributeValue] = [:]
        for (name, value) in try p.map("MessageSystemAttributes") {
            guard name == "AWSTraceHeader" else {
                throw SQSError.invalidParameter("Message system attribute name '\(name)' is invalid.")
            }
            let parsed = try MessageAttributeValue.parse(name: name, value)
            guard parsed.dataType == "String" else {
                throw SQSError.invalidParameter("The message system attribute 'AWSTraceHeader' must be of type String.")
            }
            system[name] = parsed
        }
        // A MessageDeduplicationId deduplicates nothing on a standard queue; like moto, it is kept and returned.
        var message = ValidatedMessage(
            body: body, delay: delay, attributes: attributes, system: system, groupID: try p.string("MessageGroupId"),
            deduplicationID: try p.string("MessageDeduplicationId"))
        if queue.fifo {
            let fields = try SQSEndpoint.fifoFields(body, group: message.groupID, deduplication: message.deduplicationID, queue)
            message.fifo = (fields.group, fields.key)
            message.deduplicationID = fields.shown
        }
        guard message.size <= maxSize else {
            throw SQSError.invalidParameter("One or more parameters are invalid. Reason: Message must be shorter than \(maxSize) bytes.")
        }
        return message
    }

    func sendMessage(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let (name, queue) = try await self.queue(p)
        let message = try validateMessage(p, maxSize: queue.maxMessageSizeBytes, queue: queue)
        let sent: [SendResult]
        do {
            sent = try await service.sendBatch(name, [message.outgoing])
        } catch {
            throw SQSError(error)
        }
        guard let result = sent.first else { throw SQSError.internalError("the send returned no result") }
        return message.result(result)
    }

    /// Checks a batch's entries: 1 to 10, ids distinct and well-formed.
    func checkEntries(_ entries: [Parameters], entry: String) throws(SQSError) -> [String] {
        guard !entries.isEmpty else { throw SQSError.emptyBatch(entry) }
        guard entries.count <= SQSLimits.maxBatchEntries else { throw SQSError.tooManyEntries(entries.count) }
        var ids: [String] = []
        for entry in entries {
            guard let id = try? entry.string("Id"), SQSEndpoint.validName(id) else { throw SQSError.invalidBatchEntryID }
            ids.append(id)
        }
        var seen = Set<String>()
        for id in ids where !seen.insert(id).inserted { throw SQSError.batchIDsNotDistinct(id) }
        return ids
    }

    /// An entry's size as SQS counts it toward a batch: body, and each attribute's name, type and value.
    static func entrySize(_ entry: Parameters) -> Int {
        var size = (entry.object["MessageBody"] as? String)?.utf8.count ?? 0
        for (name, value) in (entry.object["MessageAttributes"] as? [String: Any]) ?? [:] {
            let fields = value as? [String: Any] ?? [:]
            size += name.utf8.count + ((fields["DataType"] as? String)?.utf8.count ?? 0)
                + ((fields["StringValue"] as? String)?.utf8.count ?? 0)
                + ((fields["BinaryValue"] as? String).flatMap { Data(base64Encoded: $0)?.count } ?? 0)
        }
        return size
    }

    static func failure(_ id: String, _ error: SQSError) -> [String: Any] {
        ["Id": id, "SenderFault": error.senderFault, "Code": error.queryCode, "Message": error.message]
    }

    func sendMessageBatch(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let (name, queue) = try await self.queue(p)
        let entries = try p.objects("Entries")
        let ids = try checkEntries(entries, entry: "SendMessageBatchRequestEntry")
        let total = entries.reduce(0) { $0 + SQSEndpoint.entrySize($1) }
        guard total <= SQSLimits.maxMessageSize else { throw SQSError.batchTooLong(total) }
        // A FIFO queue's demands fail the whole batch, as in SQS and moto; other faults fail their entry.
        for entry in entries { try SQSEndpoint.checkFifo(entry, queue) }
        var valid: [(id: String, message: ValidatedMessage)] = []
        var failed: [[String: Any]] = []
        for (id, entry) in zip(ids, entries) {
            do {
                valid.append((id, try validateMessage(entry, maxSize: queue.maxMessageSizeBytes, queue: queue)))
            } catch {
                failed.append(SQSEndpoint.failure(id, error))
            }
        }
        var successful: [[String: Any]] = []
        if !valid.isEmpty {
            let sent: [SendResult]
            do {
                sent = try await service.sendBatch(name, valid.map(\.message.outgoing))
            } catch {
                throw SQSError(error)
            }
            for (entry, result) in zip(valid, sent) {
                var answer = entry.message.result(result)
                answer["Id"] = entry.id
                successful.append(answer)
            }
        }
        return ["Successful": successful, "Failed": failed]
    }

    static let systemAttributeNames: Set<String> = [
        "All", "SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
        "SequenceNumber", "MessageDeduplicationId", "MessageGroupId", "AWSTraceHeader", "DeadLetterQueueSourceArn",
    ]

    func receiveMessage(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let (name, attributes) = try await self.queue(p)
        let count = try p.int("MaxNumberOfMessages") ?? 1
        guard (1...SQSLimits.maxBatchEntries).contains(count) else {
            throw SQSError.invalidParameter("Value \(count) for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.")
        }
        var visibility: Duration?
        if let seconds = try p.int("VisibilityTimeout") {
            guard (0...SQSLimits.maxVisibilitySeconds).contains(seconds) else {
                throw SQSError.invalidParameter("Value \(seconds) for parameter VisibilityTimeout is invalid. Reason: must be between 0 and 43200.")
            }
            visibility = .seconds(seconds)
        }
        var wait = attributes.receiveWaitTime
        if let seconds = try p.int("WaitTimeSeconds") {
            guard (0...SQSLimits.maxWaitSeconds).contains(seconds) else {
                throw SQSError.invalidParameter("Value \(seconds) for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.")
            }
            wait = .seconds(seconds)
        }
        let systemNames = Set(try p.strings("AttributeNames") + p.strings("MessageSystemAttributeNames"))
        let attributeNames = try p.strings("MessageAttributeNames")
        let received: [ReceivedMessage]
        do {
            received = try await service.receiveBatch(name, maxCount: count, visibilityTimeout: visibility, pollingWait: wait)
        } catch {
            throw SQSError(error)
        }
        guard !received.isEmpty else { return [:] }
        let messages = received.map { describe($0, systemNames: systemNames, attributeNames: attributeNames, c) }
        return ["Messages": messages]
    }

    func describe(
        _ message: ReceivedMessage, systemNames: Set<String>, attributeNames: [String], _ c: Context
    ) -> [String: Any] {
        let envelope = MessageEnvelope.decode(message.attributes)
        var out: [String: Any] = [
            "MessageId": message.id, "ReceiptHandle": message.receipt.description, "Body": message.body,
            "MD5OfBody": SQSChecksum.body(message.body),
        ]
        var system: [String: String] = [
            "SenderId": c.accessKeyID,
            "SentTimestamp": String(message.sentAt.millisecondsSinceEpoch),
            "ApproximateReceiveCount": String(message.receiveCount),
            "ApproximateFirstReceiveTimestamp": String(message.firstReceivedAt.millisecondsSinceEpoch),
        ]
        if let group = envelope.g { system["MessageGroupId"] = group }
        if message.groupID != nil { system["SequenceNumber"] = SQSEndpoint.sequenceNumber(message.order) }
        if let deduplication = envelope.d { system["MessageDeduplicationId"] = deduplication }
        if let trace = envelope.system["AWSTraceHeader"]?.stringValue { system["AWSTraceHeader"] = trace }
        let wanted = systemNames.contains("All") ? system : system.filter { systemNames.contains($0.key) }
        if !wanted.isEmpty { out["Attributes"] = wanted }
        let all = envelope.attributes
        let selected = all.filter { name, _ in
            attributeNames.contains { pattern in
                pattern == "All" || pattern == ".*" || pattern == name
                    || (pattern.hasSuffix(".*") && name.hasPrefix(String(pattern.dropLast(2))))
            }
        }
        if !selected.isEmpty {
            out["MessageAttributes"] = selected.mapValues(\.json)
            out["MD5OfMessageAttributes"] = SQSChecksum.attributes(selected)
        }
        return out
    }

    func receipt(_ text: String) throws(SQSError) -> ReceiptHandle {
        guard let receipt = ReceiptHandle(text) else {
            throw SQSError(type: "ReceiptHandleIsInvalid", message: "The input receipt handle is invalid.")
        }
        return receipt
    }

    func deleteMessage(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try await queueName(p)
        let handle = try receipt(try p.required("ReceiptHandle"))
        do {
            try await service.delete(name, receipt: handle)
        } catch .unknownReceipt, .staleReceipt {
            // SQS: deleting with an old receipt, or a message already deleted, succeeds and changes nothing.
        } catch {
            throw SQSError(error)
        }
        return [:]
    }

    func deleteMessageBatch(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try await queueName(p)
        let entries = try p.objects("Entries")
        let ids = try checkEntries(entries, entry: "DeleteMessageBatchRequestEntry")
        var handles: [(id: String, receipt: ReceiptHandle)] = []
        var failed: [[String: Any]] = []
        for (id, entry) in zip(ids, entries) {
            let text = (try? entry.string("ReceiptHandle")) ?? nil
            guard let text, let receipt = ReceiptHandle(text) else {
                failed.append(SQSEndpoint.failure(id, .invalidReceipt(text ?? "")))
                continue
            }
            handles.append((id, receipt))
        }
        if !handles.isEmpty {
            do {
                try await service.deleteBatch(name, receipts: handles.map(\.receipt))
            } catch .unknownReceipt, .staleReceipt {
                // One receipt is stale: delete one by one so that the others still go.
                for handle in handles {
                    do {
                        try await service.delete(name, receipt: handle.receipt)
                    } catch .unknownReceipt, .staleReceipt {
                    } catch {
                        throw SQSError(error)
                    }
                }
            } catch {
                throw SQSError(error)
            }
        }
        return ["Successful": handles.map { ["Id": $0.id] }, "Failed": failed]
    }

    func changeVisibility(
        _ name: String, handle text: String, seconds: Int?
    ) async throws(SQSError) {
        guard let seconds else { throw SQSError.missingParameter("VisibilityTimeout") }
        guard (0...SQSLimits.maxVisibilitySeconds).contains(seconds) else {
            throw SQSError.invalidParameter("Value \(seconds) for parameter VisibilityTimeout is invalid. Reason: must be between 0 and 43200.")
        }
        guard let handle = ReceiptHandle(text) else {
            throw SQSError(type: "ReceiptHandleIsInvalid", message: "The input receipt handle is invalid.")
        }
        do {
            try await service.changeVisibility(name, receipt: handle, timeout: .seconds(seconds))
        } catch .unknownReceipt, .staleReceipt {
            throw SQSError(type: "MessageNotInflight", queryCode: "AWS.SimpleQueueService.MessageNotInflight",
                           message: "Value \(text) for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.")
        } catch {
            throw SQSError(error)
        }
    }

    func changeVisibility(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try await queueName(p)
        try await changeVisibility(name, handle: try p.required("ReceiptHandle"), seconds: try p.int("VisibilityTimeout"))
        return [:]
    }

    func changeVisibilityBatch(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try await queueName(p)
        let entries = try p.objects("Entries")
        let ids = try checkEntries(entries, entry: "ChangeMessageVisibilityBatchRequestEntry")
        var successful: [[String: Any]] = []
        var failed: [[String: Any]] = []
        for (id, entry) in zip(ids, entries) {
            do {
                try await changeVisibility(name, handle: try entry.required("ReceiptHandle"), seconds: try entry.int("VisibilityTimeout"))
                successful.append(["Id": id])
            } catch {
                failed.append(SQSEndpoint.failure(id, error))
            }
        }
        return ["Successful": successful, "Failed": failed]
    }
}
