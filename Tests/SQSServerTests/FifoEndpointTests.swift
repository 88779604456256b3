import Foundation
import MessageQueue
import SQSServer
import XCTest

/// FIFO queues through the SQS actions: attributes, MessageGroupId and MessageDeduplicationId (explicit and
/// content-based), SequenceNumber, group order, and the errors SQS gives.
final class FifoEndpointTests: XCTestCase {
    var fixture: EndpointFixture!

    override func setUp() async throws { fixture = try EndpointFixture() }
    override func tearDown() async throws { await fixture.close() }

    func bodies(_ response: [String: Any]) -> [String] {
        (response["Messages"] as? [[String: Any]] ?? []).compactMap { $0["Body"] as? String }
    }

    func testAFifoQueueReportsItsAttributesAndRefusesToBecomeStandard() async throws {
        let url = await fixture.createQueue("jobs.fifo", ["FifoQueue": "true", "ContentBasedDeduplication": "true"])
        let all = await fixture.ok("GetQueueAttributes", ["QueueUrl": url, "AttributeNames": ["All"]])
        let attributes = all["Attributes"] as? [String: String] ?? [:]
        XCTAssertEqual(attributes["FifoQueue"], "true")
        XCTAssertEqual(attributes["ContentBasedDeduplication"], "true")
        XCTAssertEqual(attributes["DeduplicationScope"], "queue")
        XCTAssertEqual(attributes["FifoThroughputLimit"], "perQueue")
        let change = await fixture.failure("SetQueueAttributes", ["QueueUrl": url, "Attributes": ["FifoQueue": "false"]])
        XCTAssertEqual(change.code, "InvalidAttributeValue")
        _ = await fixture.ok("SetQueueAttributes", ["QueueUrl": url, "Attributes": ["ContentBasedDeduplication": "false"]])
        let after = await fixture.ok("GetQueueAttributes", ["QueueUrl": url, "AttributeNames": ["ContentBasedDeduplication"]])
        XCTAssertEqual((after["Attributes"] as? [String: String])?["ContentBasedDeduplication"], "false")

        let standard = await fixture.createQueue("plain")
        let plainAll = await fixture.ok("GetQueueAttributes", ["QueueUrl": standard, "AttributeNames": ["All"]])
        XCTAssertNil((plainAll["Attributes"] as? [String: String])?["FifoQueue"])
        let onStandard = await fixture.failure("SetQueueAttributes", [
            "QueueUrl": standard, "Attributes": ["ContentBasedDeduplication": "true"],
        ])
        XCTAssertEqual(onStandard.code, "InvalidAttributeName")
        let badScope = await fixture.failure("CreateQueue", [
            "QueueName": "x.fifo", "Attributes": ["FifoQueue": "true", "DeduplicationScope": "everywhere"],
        ])
        XCTAssertEqual(badScope.code, "InvalidAttributeValue")
        // A FIFO queue's dead-letter queue is a FIFO queue.
        let mixed = await fixture.failure("CreateQueue", [
            "QueueName": "y.fifo", "Attributes": [
                "FifoQueue": "true",
                "RedrivePolicy": "{\"deadLetterTargetArn\": \"arn:aws:sqs:us-east-1:123456789012:plain\", \"maxReceiveCount\": 2}",
            ],
        ])
        XCTAssertEqual(mixed.code, "InvalidParameterValue")
    }

    func testSendsNeedAGroupAndADeduplicationIdUnlessContentBased() async throws {
        let url = await fixture.createQueue("jobs.fifo", ["FifoQueue": "true"])
        let noGroup = await fixture.failure("SendMessage", ["QueueUrl": url, "MessageBody": "m", "MessageDeduplicationId": "1"])
        XCTAssertEqual(noGroup.code, "MissingParameter")
        XCTAssertEqual(noGroup.message, "The request must contain the parameter MessageGroupId.")
        let noDedup = await fixture.failure("SendMessage", ["QueueUrl": url, "MessageBody": "m", "MessageGroupId": "g"])
        XCTAssertEqual(noDedup.code, "InvalidParameterValue")
        XCTAssertEqual(noDedup.message, "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
        let delayed = await fixture.failure("SendMessage", [
            "QueueUrl": url, "MessageBody": "m", "MessageGroupId": "g", "MessageDeduplicationId": "1", "DelaySeconds": 5,
        ])
        XCTAssertEqual(delayed.code, "InvalidParameterValue")
        let batch = await fixture.failure("SendMessageBatch", ["QueueUrl": url, "Entries": [
            ["Id": "a", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "a"],
            ["Id": "b", "MessageBody": "b", "MessageGroupId": "g"],
        ]])
        XCTAssertEqual(batch.code, "InvalidParameterValue", "one entry without a deduplication id fails the batch")
        let total = try await fixture.service.counters(of: "jobs.fifo").total
        XCTAssertEqual(total, 0, "every refusal stored nothing")
    }

    func testDuplicatesAreAcceptedButStoredOnceWithTheFirstMessagesId() async throws {
        let url = await fixture.createQueue("jobs.fifo", ["FifoQueue": "true", "ContentBasedDeduplication": "true"])
        let first = await fixture.ok("SendMessage", [
            "QueueUrl": url, "MessageBody": "same", "MessageGroupId": "g", "MessageDeduplicationId": "d1",
        ])
        let repeated = await fixture.ok("SendMessage", [
            "QueueUrl": url, "MessageBody": "other", "MessageGroupId": "g", "MessageDeduplicationId": "d1",
        ])
        XCTAssertEqual(repeated["MessageId"] as? String, first["MessageId"] as? String)
        XCTAssertEqual(repeated["SequenceNumber"] as? String, first["SequenceNumber"] as? String)
        // Content-based: the body's SHA-256 is the deduplication id.
        _ = await fixture.ok("SendMessage", ["QueueUrl": url, "MessageBody": "first", "MessageGroupId": "h"])
        let hash = "a7937b64b8caa58f03721bb6bacf5c78cb235febe0e70b1b84cd99541461a08e" // SHA-256 of "first"
        _ = await fixture.ok("SendMessage", [
            "QueueUrl": url, "MessageBody": "second", "MessageGroupId": "i", "MessageDeduplicationId": hash,
        ])
        let received = await fixture.ok("ReceiveMessage", [
            "QueueUrl": url, "MaxNumberOfMessages": 10, "AttributeNames": ["All"],
        ])
        XCTAssertEqual(bodies(received), ["same", "first"])
        let system = (received["Messages"] as? [[String: Any]])?.last?["Attributes"] as? [String: String] ?? [:]
        XCTAssertEqual(system["MessageGroupId"], "h")
        XCTAssertEqual(system["MessageDeduplicationId"], hash)
        XCTAssertEqual(system["SequenceNumber"]?.count, 20)
    }

    func testTheDeduplicationScopeCanBeTheMessageGroup() async throws {
        let url = await fixture.createQueue("jobs.fifo", ["FifoQueue": "true", "DeduplicationScope": "messageGroup"])
        for group in ["a", "b", "a"] {
            _ = await fixture.ok("SendMessage", [
                "QueueUrl": url, "MessageBody": "to \(group)", "MessageGroupId": group, "MessageDeduplicationId": "same",
            ])
        }
        let total = try await fixture.service.counters(of: "jobs.fifo").total
        XCTAssertEqual(total, 2, "the same id in two groups is two messages; again in the first group, a duplicate")
    }

    func testAGroupIsDeliveredInOrderOneBatchInFlightAtATime() async throws {
        let url = await fixture.createQueue("jobs.fifo", ["FifoQueue": "true", "ContentBasedDeduplication": "true"])
        _ = await fixture.ok("SetQueueAttributes", ["QueueUrl": url, "Attributes": ["VisibilityTimeout": "3600"]])
        let sent = await fixture.ok("SendMessageBatch", ["QueueUrl": url, "Entries": [
            ["Id": "1", "MessageBody": "message-1", "MessageGroupId": "group"],
            ["Id": "2", "MessageBody": "message-2", "MessageGroupId": "group"],
            ["Id": "3", "MessageBody": "message-3", "MessageGroupId": "group"],
            ["Id": "4", "MessageBody": "separate", "MessageGroupId": "another"],
        ]])
        let numbers = (sent["Successful"] as? [[String: Any]] ?? []).compactMap { $0["SequenceNumber"] as? String }
        XCTAssertEqual(numbers.count, 4)
        XCTAssertEqual(numbers, numbers.sorted(), "sequence numbers grow in sending order")
        let first = await fixture.ok("ReceiveMessage", ["QueueUrl": url, "MaxNumberOfMessages": 2])
        XCTAssertEqual(bodies(first), ["message-1", "message-2"])
        let second = await fixture.ok("ReceiveMessage", ["QueueUrl": url, "MaxNumberOfMessages": 10])
        XCTAssertEqual(bodies(second), ["separate"])
        for message in first["Messages"] as? [[String: Any]] ?? [] {
            _ = await fixture.ok("DeleteMessage", ["QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"] as? String ?? ""])
        }
        let third = await fixture.ok("ReceiveMessage", ["QueueUrl": url, "MaxNumberOfMessages": 10])
        XCTAssertEqual(bodies(third), ["message-3"])
    }

    func testFifoMessagesSurviveAReopenWithTheirGroupsAndDeduplication() async throws {
        let url = await fixture.createQueue("jobs.fifo", ["FifoQueue": "true"])
        for body in ["one", "two"] {
            _ = await fixture.ok("SendMessage", [
                "QueueUrl": url, "MessageBody": body, "MessageGroupId": "g", "MessageDeduplicationId": body,
            ])
        }
        let held = await fixture.ok("ReceiveMessage", ["QueueUrl": url, "VisibilityTimeout": 600])
        XCTAssertEqual(bodies(held), ["one"])
        try await fixture.reopen()
        let blocked = await fixture.ok("ReceiveMessage", ["QueueUrl": url])
        XCTAssertEqual(bodies(blocked), [], "the group stays blocked across a restart")
        _ = await fixture.ok("SendMessage", [
            "QueueUrl": url, "MessageBody": "two again", "MessageGroupId": "g", "MessageDeduplicationId": "two",
        ])
        let total = try await fixture.service.counters(of: "jobs.fifo").total
        XCTAssertEqual(total, 2, "the duplicate is still recognised after a restart")
    }
}
