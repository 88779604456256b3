import Foundation
import MessageQueue
import Primitives

/// SQS queue attributes (strings, as SQS carries them) to and from the queue's `QueueAttributes`.
enum QueueAttributeMapping {
    /// Attributes a client may set, with the range SQS allows where it is a number of seconds or bytes.
    static let settable: Set<String> = Set<String>([
        "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "Policy", "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
        "SqsManagedSseEnabled", "FifoQueue", SQSEndpoint.rewindAttribute,
    ]).union(fifoOnly)

    /// Attributes only a FIFO queue has, with the values each may take (the first is the default).
    static let fifoOnly: Set<String> = ["ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"]
    static let fifoValues: [String: [String]] = [
        "ContentBasedDeduplication": ["false", "true"], "DeduplicationScope": ["queue", "messageGroup"],
        "FifoThroughputLimit": ["perQueue", "perMessageGroupId"],
    ]

    /// Attributes kept verbatim in `QueueAttributes.properties` and returned as given.
    static let verbatim: Set<String> = ["Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"]

    /// Every attribute GetQueueAttributes knows (some are only present when set).
    static let readable: Set<String> = settable.union([
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
        "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn", "All",
    ])

    static func seconds(_ text: String, _ name: String, _ range: ClosedRange<Int>) throws(SQSError) -> Duration {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw SQSError.invalidAttributeValue(name, "must be an integer between \(range.lowerBound) and \(range.upperBound).")
        }
        return .seconds(value)
    }

    /// Applies the given SQS attributes; throws on the first unknown name or invalid value.
    static func apply(
        _ given: [String: String], to attributes: inout QueueAttributes, queue: String, service: MessageQueueService,
        creating: Bool
    ) async throws {
        // FifoQueue first: what the other attributes may be depends on the queue's type.
        for rawKey in given.keys.sorted(by: { ($0 == "FifoQueue" ? 0 : 1, $0) < ($1 == "FifoQueue" ? 0 : 1, $1) }) {
            guard let rawValue = given[rawKey] else { continue }
            let key = rawKey.trimmingCharacters(in: .whitespaces)
            let value = rawValue.trimmingCharacters(in: .whitespaces)
            guard settable.contains(key) else { throw SQSError.invalidAttributeName(key) }
            switch key {
            case "DelaySeconds":
                attributes.delay = try seconds(value, key, 0...SQSLimits.maxDelaySeconds)
            case "VisibilityTimeout":
                attributes.visibilityTimeout = try seconds(value, key, 0...SQSLimits.maxVisibilitySeconds)
            case "MessageRetentionPeriod":
                attributes.retention = try seconds(value, key, SQSLimits.minRetentionSeconds...SQSLimits.maxRetentionSeconds)
            case "ReceiveMessageWaitTimeSeconds":
                attributes.receiveWaitTime = try seconds(value, key, 0...SQSLimits.maxWaitSeconds)
            case "MaximumMessageSize":
                guard let size = Int(value), (SQSLimits.minMessageSize...SQSLimits.maxMessageSize).contains(size) else {
                    throw SQSError.invalidAttributeValue(key, "must be an integer between \(SQSLimits.minMessageSize) and \(SQSLimits.maxMessageSize).")
                }
                attributes.maxMessageSizeBytes = size
            case "RedrivePolicy":
                try await applyRedrivePolicy(value, to: &attributes, queue: queue, service: service)
            case "RedriveAllowPolicy":
                if value.isEmpty {
                    attributes.redriveAllowPolicy = nil
                } else {
                    try checkRedriveAllowPolicy(value)
                    attributes.redriveAllowPolicy = value
                }
            case SQSEndpoint.rewindAttribute:
                attributes.rewindWindow = try seconds(value, key, 0...SQSLimits.maxRetentionSeconds)
            case "FifoQueue":
                // Anything but "true" makes a standard queue (as SQS and moto read it); the type is fixed at creation.
                let fifo = value.lowercased() == "true"
                guard creating || fifo == attributes.fifo else {
                    throw SQSError.invalidAttributeValue(key, "a queue's type cannot be changed.")
                }
                attributes.fifo = fifo
            case _ where fifoOnly.contains(key):
                guard attributes.fifo else { throw SQSError.invalidAttributeName(key) }
                guard let allowed = fifoValues[key], let match = allowed.first(where: { $0.lowercased() == value.lowercased() }) else {
                    throw SQSError.invalidAttributeValue(key, "must be one of \((fifoValues[key] ?? []).joined(separator: ", ")).")
                }
                attributes.properties[key] = match
            default:
                attributes.properties[key] = value.isEmpty ? nil : value
            }
        }
    }

    static func applyRedrivePolicy(
        _ value: String, to attributes: inout QueueAttributes, queue: String, service: MessageQueueService
    ) async throws {
        if value.isEmpty {
            attributes.deadLetterQueue = nil
            return
        }
        let invalid = SQSError.invalidParameter(
            "Value \(value) for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a dict or valid json.")
        guard let object = (try? JSONSerialization.jsonObject(with: Data(value.utf8))) as? [String: Any] else { throw invalid }
        guard let target = object["deadLetterTargetArn"] as? String else {
            throw SQSError.invalidParameter("Value \(value) for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain deadLetterTargetArn.")
        }
        let count: Int?
        if let text = object["maxReceiveCount"] as? String {
            count = Int(text)
        } else if let number = object["maxReceiveCount"] as? NSNumber {
            count = number.intValue
        } else {
            count = nil
        }
        guard let count else {
            throw SQSError.invalidParameter("Value \(value) for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain maxReceiveCount.")
        }
        guard (1...1000).contains(count) else {
            throw SQSError.invalidParameter("Value \(value) for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: \(count), valid values are from 1 to 1000 both inclusive.")
        }
        let name = target.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        guard name != queue, await service.listQueues().contains(name) else {
            throw SQSError.invalidParameter("Value \(value) for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.")
        }
        guard (try? await service.attributes(of: name).fifo) == attributes.fifo else {
            throw SQSError.invalidParameter("Value \(value) for parameter RedrivePolicy is invalid. Reason: Dead-letter target must be the same type of queue (FIFO or standard) as the source.")
        }
        attributes.deadLetterQueue = name
        attributes.maxReceiveCount = count
    }

    static func checkRedriveAllowPolicy(_ value: String) throws(SQSError) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(value.utf8))) as? [String: Any],
              let permission = object["redrivePermission"] as? String
        else {
            throw SQSError.invalidAttributeValue("RedriveAllowPolicy", "Redrive allow policy must be JSON with redrivePermission.")
        }
        let sources = object["sourceQueueArns"] as? [String] ?? []
        switch permission {
        case "allowAll", "denyAll":
            guard sources.isEmpty else {
                throw SQSError.invalidAttributeValue("RedriveAllowPolicy", "sourceQueueArns is only allowed with redrivePermission byQueue.")
            }
        case "byQueue":
            guard (1...10).contains(sources.count) else {
                throw SQSError.invalidAttributeValue("RedriveAllowPolicy", "byQueue needs 1 to 10 sourceQueueArns.")
            }
        default:
            throw SQSError.invalidAttributeValue("RedriveAllowPolicy", "redrivePermission must be allowAll, denyAll or byQueue.")
        }
    }

    /// Every attribute of a queue, as GetQueueAttributes with `All` returns them.
    static func describe(
        _ attributes: QueueAttributes, counters: QueueCounters, createdAt: Timestamp, arn: String,
        deadLetterArn: (String) -> String
    ) -> [String: String] {
        let created = String(createdAt.millisecondsSinceEpoch / 1000)
        var out: [String: String] = [
            "QueueArn": arn,
            "ApproximateNumberOfMessages": String(counters.visible),
            "ApproximateNumberOfMessagesNotVisible": String(counters.inFlight),
            "ApproximateNumberOfMessagesDelayed": String(counters.delayed),
            "CreatedTimestamp": created,
            "LastModifiedTimestamp": attributes.properties["LastModifiedTimestamp"] ?? created,
            "VisibilityTimeout": String(attributes.visibilityTimeout.components.seconds),
            "DelaySeconds": String(attributes.delay.components.seconds),
            "MessageRetentionPeriod": String(attributes.retention.components.seconds),
            "MaximumMessageSize": String(attributes.maxMessageSizeBytes),
            "ReceiveMessageWaitTimeSeconds": String(attributes.receiveWaitTime.components.seconds),
            "SqsManagedSseEnabled": "false",
        ]
        for key in verbatim { if let value = attributes.properties[key] { out[key] = value } }
        if let deadLetter = attributes.deadLetterQueue {
            out["RedrivePolicy"] = "{\"deadLetterTargetArn\": \"\(deadLetterArn(deadLetter))\", \"maxReceiveCount\": \(attributes.maxReceiveCount)}"
        }
        if let policy = attributes.redriveAllowPolicy { out["RedriveAllowPolicy"] = policy }
        if attributes.rewindWindow > .zero {
            out[SQSEndpoint.rewindAttribute] = String(attributes.rewindWindow.components.seconds)
        }
        if attributes.fifo {
            out["FifoQueue"] = "true"
            for (key, values) in fifoValues { out[key] = attributes.properties[key] ?? values[0] }
        }
        return out
    }
}
