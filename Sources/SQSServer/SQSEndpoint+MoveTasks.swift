import Foundation
import MessageQueue

/// A redrive started with StartMessageMoveTask. The move runs through the queue's replicated redrive
/// before the call returns, so a task is complete (or failed) by the time a client can list it.
struct MoveTask: Sendable {
    var handle: String
    var source: String
    var sourceArn: String
    var destinationArn: String?
    var moved: Int
    var status: String
    var failure: String?
    var started: Date
    var maxPerSecond: Int?
}

extension SQSEndpoint {
    func startMoveTask(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let sourceArn = try p.required("SourceArn")
        let source = try await queueName(arn: sourceArn)
        let destinationArn = try p.string("DestinationArn")
        let destination = try await destinationArn.asyncMap { try await queueName(arn: $0) }
        let maxPerSecond = try p.int("MaxNumberOfMessagesPerSecond")
        if let maxPerSecond, !(1...500).contains(maxPerSecond) {
            throw SQSError.invalidParameter("Value \(maxPerSecond) for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500.")
        }
        guard try await !service.deadLetterSources(of: source).isEmpty else {
            throw SQSError.invalidParameter("Source queue must be configured as a Dead Letter Queue.")
        }
        let moved: Int
        do {
            moved = try await service.redrive(deadLetterQueue: source, to: destination)
        } catch {
            throw SQSError(error)
        }
        let task = MoveTask(
            handle: RandomUUID.make(), source: source, sourceArn: sourceArn, destinationArn: destinationArn,
            moved: moved, status: "COMPLETED", failure: nil, started: Date(), maxPerSecond: maxPerSecond)
        moveTasks.withLock { tasks in
            tasks.append(task)
            if tasks.count > 1_000 { tasks.removeFirst(tasks.count - 1_000) }
        }
        return ["TaskHandle": task.handle]
    }

    func listMoveTasks(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let sourceArn = try p.required("SourceArn")
        let source = try await queueName(arn: sourceArn)
        let maxResults = try p.int("MaxResults") ?? 1
        guard (1...10).contains(maxResults) else {
            throw SQSError.invalidParameter("Value \(maxResults) for parameter MaxResults is invalid. Reason: must be between 1 and 10.")
        }
        let tasks = moveTasks.withLock { $0.filter { $0.source == source } }.reversed().prefix(maxResults)
        let results: [[String: Any]] = tasks.map { task in
            var out: [String: Any] = [
                "Status": task.status, "SourceArn": task.sourceArn,
                "ApproximateNumberOfMessagesMoved": task.moved, "ApproximateNumberOfMessagesToMove": task.moved,
                "StartedTimestamp": Int64(task.started.timeIntervalSince1970 * 1000),
            ]
            if let destination = task.destinationArn { out["DestinationArn"] = destination }
            if let rate = task.maxPerSecond { out["MaxNumberOfMessagesPerSecond"] = rate }
            if let failure = task.failure { out["FailureReason"] = failure }
            return out
        }
        return ["Results": results]
    }

    func cancelMoveTask(_ p: Parameters, _ c: Context) throws -> [String: Any] {
        let handle = try p.required("TaskHandle")
        let known = moveTasks.withLock { $0.contains { $0.handle == handle } }
        guard known else {
            throw SQSError(type: "ResourceNotFoundException", message: "The resource that you requested couldn't be found.")
        }
        throw SQSError(type: "ResourceNotFoundException", message: "Only active tasks can be cancelled; this one has completed.")
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
