import Foundation
import MessageQueue
import SQSServer
import XCTest

/// The SQS actions over a real three-replica queue, as an SDK sees them.
final class EndpointTests: XCTestCase {
    var fixture: EndpointFixture!

    override func setUp() async throws { fixture = try EndpointFixture() }
    override func tearDown() async throws { await fixture.close() }

    func testCreateGetListAndDeleteQueues() async throws {
        let url = await fixture.createQueue("orders")
        XCTAssertEqual(url, "http://127.0.0.1:9324/123456789012/orders")
        let again = await fixture.createQueue("orders")
        XCTAssertEqual(again, url, "creating the same queue again returns it")
        _ = await fixture.createQueue("other")
        let got = await fixture.ok("GetQueueUrl", ["QueueName": "orders"])
        XCTAssertEqual(got["QueueUrl"] as? String, url)
        let all = await fixture.ok("ListQueues", [:])
        XCTAssertEqual(all["QueueUrls"] as? [String], [url, "http://127.0.0.1:9324/123456789012/other"])
        let prefixed = await fixture.ok("ListQueues", ["QueueNamePrefix": "oth"])
        XCTAssertEqual((prefixed["QueueUrls"] as? [String])?.count, 1)
        let page = await fixture.ok("ListQueues", ["MaxResults": 1])
        XCTAssertEqual(page["QueueUrls"] as? [String], [url])
        let next = await fixture.ok("ListQueues", ["MaxResults": 1, "NextToken": page["NextToken"] as? String ?? ""])
        XCTAssertEqual(next["QueueUrls"] as? [String], ["http://127.0.0.1:9324/123456789012/other"])
        XCTAssertNil(next["NextToken"])
        _ = await fixture.ok("DeleteQueue", ["QueueUrl": url])
        let missing = await fixture.failure("GetQueueUrl", ["QueueName": "orders"])
        XCTAssertEqual(missing.status, 400)
        XCTAssertEqual(missing.code, "AWS.SimpleQueueService.NonExistentQueue")
        XCTAssertEqual(missing.type, "QueueDoesNotExist")
    }

    func testCreatingAnExistingQueueWithOtherAttributesIsRefused() async throws {
        _ = await fixture.createQueue("q", ["VisibilityTimeout": "10"])
        let refused = await fixture.failure("CreateQueue", ["QueueName": "q", "Attributes": ["VisibilityTimeout": "11"]])
        XCTAssertEqual(refused.code, "QueueAlreadyExists")
        let bad = await fixture.failure("CreateQueue", ["QueueName": "bad name!"])
        XCTAssertEqual(bad.code, "InvalidParameterValue")
        let fifoWithoutAttribute = await fixture.failure("CreateQueue", ["QueueName": "f.fifo"])
        XCTAssertEqual(fifoWithoutAttribute.code, "InvalidParameterValue")
        let fifoWithoutSuffix = await fixture.failure("CreateQueue", ["QueueName": "f", "Attributes": ["FifoQueue": "true"]])
        XCTAssertEqual(fifoWithoutSuffix.code, "InvalidParameterValue")
        XCTAssertEqual(fifoWithoutSuffix.message, "Queue name must end in .fifo for FIFO queues")
        let unknown = await fixture.failure("CreateQueue", ["QueueName": "q2", "Attributes": ["Colour": "red"]])
        XCTAssertEqual(unknown.code, "InvalidAttributeName")
    }

    func testSendReceiveDeleteWithAttributesAndChecksums() async throws {
        let url = await fixture.createQueue("q")
        let sent = await fixture.ok("SendMessage", [
            "QueueUrl": url, "MessageBody": "hello world",
            "MessageAttributes": [
                "city": ["DataType": "String", "StringValue": "Any City"],
                "blob": ["DataType": "Binary", "BinaryValue": Data([1, 2, 3]).base64EncodedString()],
            ],
        ])
        XCTAssertEqual(sent["MD5OfMessageBody"] as? String, "5eb63bbbe01eeed093cb22bb8f5acdc3")
        let attributesMD5 = SQSChecksum.attributes([
            "city": MessageAttributeValue(dataType: "String", stringValue: "Any City"),
            "blob": MessageAttributeValue(dataType: "Binary", binaryValue: [1, 2, 3]),
        ])
        XCTAssertEqual(sent["MD5OfMessageAttributes"] as? String, attributesMD5)
        let received = await fixture.ok("ReceiveMessage", [
            "QueueUrl": url, "MessageAttributeNames": ["All"], "AttributeNames": ["All"], "MaxNumberOfMessages": 10,
        ])
        let messages = received["Messages"] as? [[String: Any]] ?? []
        XCTAssertEqual(messages.count, 1)
        let message = messages.first ?? [:]
        XCTAssertEqual(message["MessageId"] as? String, sent["MessageId"] as? String)
        XCTAssertEqual(message["Body"] as? String, "hello world")
        XCTAssertEqual(message["MD5OfBody"] as? String, "5eb63bbbe01eeed093cb22bb8f5acdc3")
        XCTAssertEqual(message["MD5OfMessageAttributes"] as? String, attributesMD5)
        let system = message["Attributes"] as? [String: String] ?? [:]
        XCTAssertEqual(system["ApproximateReceiveCount"], "1")
        XCTAssertNotNil(system["SentTimestamp"])
        let again = await fixture.ok("ReceiveMessage", ["QueueUrl": url])
        XCTAssertNil(again["Messages"], "an in-flight message is not delivered twice")
        _ = await fixture.ok("DeleteMessage", ["QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"] as? String ?? ""])
        _ = await fixture.ok("DeleteMessage", ["QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"] as? String ?? ""])
        let counters = try await fixture.service.counters(of: "q")
        XCTAssertEqual(counters.total, 0)
        let invalid = await fixture.failure("DeleteMessage", ["QueueUrl": url, "ReceiptHandle": "garbage"])
        XCTAssertEqual(invalid.code, "ReceiptHandleIsInvalid")
    }

    func testRewindQueueDeliversDeletedMessagesAgainOnQueuesThatKeepThem() async throws {
        let url = await fixture.createQueue("kept", [SQSEndpoint.rewindAttribute: "3600"])
        let attributes = await fixture.ok("GetQueueAttributes", ["QueueUrl": url, "AttributeNames": ["All"]])
        XCTAssertEqual((attributes["Attributes"] as? [String: String])?[SQSEndpoint.rewindAttribute], "3600")
        _ = await fixture.ok("SendMessage", ["QueueUrl": url, "MessageBody": "again"])
        let first = await fixture.ok("ReceiveMessage", ["QueueUrl": url])
        let handle = ((first["Messages"] as? [[String: Any]])?.first?["ReceiptHandle"] as? String) ?? ""
        _ = await fixture.ok("DeleteMessage", ["QueueUrl": url, "ReceiptHandle": handle])
        let empty = await fixture.ok("ReceiveMessage", ["QueueUrl": url])
        XCTAssertNil(empty["Messages"])

        let rewound = await fixture.ok(SQSEndpoint.rewindTarget, ["QueueUrl": url, "Seconds": 60])
        XCTAssertEqual(rewound["RewoundMessages"] as? Int, 1)
        let again = await fixture.ok("ReceiveMessage", ["QueueUrl": url, "AttributeNames": ["All"]])
        let message = (again["Messages"] as? [[String: Any]])?.first ?? [:]
        XCTAssertEqual(message["Body"] as? String, "again")
        XCTAssertEqual((message["Attributes"] as? [String: String])?["ApproximateReceiveCount"], "1")
        XCTAssertNotEqual(message["ReceiptHandle"] as? String, handle)

        let plain = await fixture.createQueue("plain")
        let refused = await fixture.failure(SQSEndpoint.rewindTarget, ["QueueUrl": plain, "Seconds": 60])
        XCTAssertEqual(refused.code, "InvalidParameterValue")
        XCTAssertTrue(refused.message.contains(SQSEndpoint.rewindAttribute), refused.message)
        let tooFar = await fixture.failure(SQSEndpoint.rewindTarget, ["QueueUrl": url, "Seconds": 3_601])
        XCTAssertEqual(tooFar.code, "InvalidParameterValue")
        let missing = await fixture.failure(SQSEndpoint.rewindTarget, ["QueueUrl": url])
        XCTAssertEqual(missing.code, "MissingParameter")
        let badWindow = await fixture.failure("SetQueueAttributes", [
            "QueueUrl": url, "Attributes": [SQSEndpoint.rewindAttribute: "-1"],
        ])
        XCTAssertEqual(badWindow.code, "InvalidAttributeValue")
        let underSQSPrefix = await fixture.failure("RewindQueue", ["QueueUrl": url, "Seconds": 60])
        XCTAssertEqual(underSQSPrefix.type, "UnknownOperationException", "the extension never hides under AmazonSQS.")
    }

    func testMessagesAndTheirAttributesSurviveAReopen() async throws {
        let url = await fixture.createQueue("q", ["DelaySeconds": "0"])
        _ = await fixture.ok("SendMessage", [
            "QueueUrl": url, "MessageBody": "kept", "MessageAttributes": ["k": ["DataType": "Number", "StringValue": "7"]],
        ])
        try await fixture.reopen()
        let received = await fixture.ok("ReceiveMessage", ["QueueUrl": url, "MessageAttributeNames": ["k"]])
        let message = (received["Messages"] as? [[String: Any]])?.first ?? [:]
        XCTAssertEqual((message["MessageAttributes"] as? [String: [String: String]])?["k"]?["StringValue"], "7")
    }

    func testBatchesReportPerEntryAndRefuseMalformedBatches() async throws {
        let url = await fixture.createQueue("q")
        let sent = await fixture.ok("SendMessageBatch", ["QueueUrl": url, "Entries": [
            ["Id": "a", "MessageBody": "one"], ["Id": "b", "MessageBody": "two", "DelaySeconds": 901],
            ["Id": "c", "MessageBody": "three"],
        ]])
        XCTAssertEqual((sent["Successful"] as? [[String: Any]])?.compactMap { $0["Id"] as? String }, ["a", "c"])
        XCTAssertEqual((sent["Failed"] as? [[String: Any]])?.first?["Code"] as? String, "InvalidParameterValue")
        let empty = await fixture.failure("SendMessageBatch", ["QueueUrl": url, "Entries": [] as [Any]])
        XCTAssertEqual(empty.code, "AWS.SimpleQueueService.EmptyBatchRequest")
        let tooMany = await fixture.failure("SendMessageBatch", ["QueueUrl": url, "Entries": (0..<11).map { ["Id": "e\($0)", "MessageBody": "x"] }])
        XCTAssertEqual(tooMany.code, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
        let twice = await fixture.failure("SendMessageBatch", ["QueueUrl": url, "Entries": [["Id": "x", "MessageBody": "1"], ["Id": "x", "MessageBody": "2"]]])
        XCTAssertEqual(twice.code, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
        let received = await fixture.ok("ReceiveMessage", ["QueueUrl": url, "MaxNumberOfMessages": 10])
        let handles = (received["Messages"] as? [[String: Any]] ?? []).compactMap { $0["ReceiptHandle"] as? String }
        XCTAssertEqual(handles.count, 2)
        let visibility = await fixture.ok("ChangeMessageVisibilityBatch", ["QueueUrl": url, "Entries": [
            ["Id": "v1", "ReceiptHandle": handles[0], "VisibilityTimeout": 100], ["Id": "v2", "ReceiptHandle": "nonsense", "VisibilityTimeout": 1],
        ]])
        XCTAssertEqual((visibility["Successful"] as? [[String: Any]])?.count, 1)
        XCTAssertEqual((visibility["Failed"] as? [[String: Any]])?.first?["Code"] as? String, "ReceiptHandleIsInvalid")
        let deleted = await fixture.ok("DeleteMessageBatch", ["QueueUrl": url, "Entries": [
            ["Id": "d1", "ReceiptHandle": handles[0]], ["Id": "d2", "ReceiptHandle": "fake"], ["Id": "d3", "ReceiptHandle": handles[1]],
        ]])
        XCTAssertEqual((deleted["Successful"] as? [[String: Any]])?.compactMap { $0["Id"] as? String }, ["d1", "d3"])
        XCTAssertEqual((deleted["Failed"] as? [[String: Any]])?.first?["Id"] as? String, "d2")
        let total = try await fixture.service.counters(of: "q").total
        XCTAssertEqual(total, 0)
    }

    func testQueueAttributesAreSetReadAndValidated() async throws {
        let dlq = await fixture.createQueue("dlq")
        let url = await fixture.createQueue("q")
        _ = await fixture.ok("SetQueueAttributes", ["QueueUrl": url, "Attributes": [
            "VisibilityTimeout": "45", "MaximumMessageSize": "2048", "ReceiveMessageWaitTimeSeconds": "2",
            "RedrivePolicy": #"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":"3"}"#,
            "RedriveAllowPolicy": #"{"redrivePermission":"allowAll"}"#,
        ]])
        let got = await fixture.ok("GetQueueAttributes", ["QueueUrl": url, "AttributeNames": ["All"]])
        let attributes = got["Attributes"] as? [String: String] ?? [:]
        XCTAssertEqual(attributes["VisibilityTimeout"], "45")
        XCTAssertEqual(attributes["MaximumMessageSize"], "2048")
        XCTAssertEqual(attributes["ReceiveMessageWaitTimeSeconds"], "2")
        XCTAssertEqual(attributes["QueueArn"], "arn:aws:sqs:us-east-1:123456789012:q")
        XCTAssertEqual(attributes["RedrivePolicy"], #"{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq", "maxReceiveCount": 3}"#)
        XCTAssertEqual(attributes["RedriveAllowPolicy"], #"{"redrivePermission":"allowAll"}"#)
        let sources = await fixture.ok("ListDeadLetterSourceQueues", ["QueueUrl": dlq])
        XCTAssertEqual(sources["queueUrls"] as? [String], [url])
        let tooLong = await fixture.failure("SendMessage", ["QueueUrl": url, "MessageBody": String(repeating: "x", count: 2049)])
        XCTAssertEqual(tooLong.code, "InvalidParameterValue")
        let badValue = await fixture.failure("SetQueueAttributes", ["QueueUrl": url, "Attributes": ["VisibilityTimeout": "43201"]])
        XCTAssertEqual(badValue.code, "InvalidAttributeValue")
        let badName = await fixture.failure("GetQueueAttributes", ["QueueUrl": url, "AttributeNames": ["Nope"]])
        XCTAssertEqual(badName.code, "InvalidAttributeName")
        let stored = try await fixture.service.attributes(of: "q")
        XCTAssertEqual(stored.visibilityTimeout, .seconds(45))
        XCTAssertEqual(stored.deadLetterQueue, "dlq")
        XCTAssertEqual(stored.maxReceiveCount, 3)
    }

    func testTagsPurgeAndMoveTasks() async throws {
        let url = await fixture.createQueue("q")
        _ = await fixture.ok("TagQueue", ["QueueUrl": url, "Tags": ["a": "1", "b": "2"]])
        _ = await fixture.ok("UntagQueue", ["QueueUrl": url, "TagKeys": ["a"]])
        let tags = await fixture.ok("ListQueueTags", ["QueueUrl": url])
        XCTAssertEqual(tags["Tags"] as? [String: String], ["b": "2"])
        _ = await fixture.ok("SendMessage", ["QueueUrl": url, "MessageBody": "x"])
        _ = await fixture.ok("PurgeQueue", ["QueueUrl": url])
        let qTotal = try await fixture.service.counters(of: "q").total
        XCTAssertEqual(qTotal, 0)

        _ = await fixture.createQueue("dlq")
        let source = await fixture.createQueue("source", [
            "VisibilityTimeout": "0",
            "RedrivePolicy": #"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":1}"#,
        ])
        _ = await fixture.ok("SendMessage", ["QueueUrl": source, "MessageBody": "poison"])
        _ = await fixture.ok("ReceiveMessage", ["QueueUrl": source])
        _ = await fixture.ok("ReceiveMessage", ["QueueUrl": source])
        let dlqVisible = try await fixture.service.counters(of: "dlq").visible
        XCTAssertEqual(dlqVisible, 1)
        let task = await fixture.ok("StartMessageMoveTask", ["SourceArn": "arn:aws:sqs:us-east-1:123456789012:dlq"])
        XCTAssertNotNil(task["TaskHandle"] as? String)
        let listed = await fixture.ok("ListMessageMoveTasks", ["SourceArn": "arn:aws:sqs:us-east-1:123456789012:dlq"])
        let result = (listed["Results"] as? [[String: Any]])?.first ?? [:]
        XCTAssertEqual(result["Status"] as? String, "COMPLETED")
        XCTAssertEqual(result["ApproximateNumberOfMessagesMoved"] as? Int, 1)
        let sourceVisible = try await fixture.service.counters(of: "source").visible
        XCTAssertEqual(sourceVisible, 1)
        let notDLQ = await fixture.failure("StartMessageMoveTask", ["SourceArn": "arn:aws:sqs:us-east-1:123456789012:q"])
        XCTAssertEqual(notDLQ.code, "InvalidParameterValue")
    }

    func testUnsignedWronglySignedAndUnknownActionsAreRefused() async throws {
        var unsigned = fixture.signed("ListQueues", body: Array("{}".utf8))
        unsigned.headers.removeAll { $0.name == "Authorization" }
        let response = await fixture.endpoint.handle(unsigned, now: fixture.now)
        XCTAssertEqual(response.status, 403)
        XCTAssertEqual(response.json?["__type"] as? String, "com.amazonaws.sqs#MissingAuthenticationToken")
        let wrong = fixture.signed("ListQueues", body: Array("{}".utf8), credentials: SQSCredentials(accessKeyID: "AKIDTEST", secretAccessKey: "guess"))
        let refused = await fixture.endpoint.handle(wrong, now: fixture.now)
        XCTAssertEqual(refused.status, 403)
        XCTAssertEqual(refused.json?["__type"] as? String, "com.amazonaws.sqs#SignatureDoesNotMatch")
        let unknown = await fixture.failure("DropEverything", [:])
        XCTAssertEqual(unknown.code, "InvalidAction")
        let traffic = fixture.endpoint.traffic.snapshot(at: fixture.now.addingTimeInterval(1))
        XCTAssertEqual(traffic.requests, 3)
        XCTAssertEqual(traffic.errors, 3)
    }
}
