import Foundation
import MessageQueue
import Primitives
import SQSServer
import XCTest

/// 1,000 malformed or badly signed requests: each is refused with an AWS-style error (a 4xx status, a
/// `__type` in the body, an `x-amzn-query-error` header), and afterwards every queue holds exactly what it
/// held before. A failing seed is printed.
final class FuzzTests: XCTestCase {
    struct Snapshot: Equatable {
        var queues: [String]
        var attributes: [QueueAttributes]
        var messages: [[StoredMessage]]
        var lastSequence: Int64
    }

    func snapshot(_ service: MessageQueueService) async throws -> Snapshot {
        let names = await service.listQueues()
        var attributes: [QueueAttributes] = []
        var messages: [[StoredMessage]] = []
        for name in names {
            attributes.append(try await service.attributes(of: name))
            messages.append(try await service.peek(name, count: 1_000))
        }
        return Snapshot(queues: names, attributes: attributes, messages: messages, lastSequence: await service.snapshot().lastSequence)
    }

    func testAThousandMalformedRequestsAreRefusedAndChangeNothing() async throws {
        let fixture = try EndpointFixture()
        let url = await fixture.createQueue("fuzz", ["MaximumMessageSize": "1024"])
        _ = await fixture.ok("SendMessage", ["QueueUrl": url, "MessageBody": "keep me"])
        let before = try await snapshot(fixture.service)
        let seed = UInt64(ProcessInfo.processInfo.environment["HONGBAO_FUZZ_SEED"] ?? "") ?? 20_261_201
        let random = SeededRandomSource(seed: seed)
        var kinds: [String: Int] = [:]
        for index in 0..<1_000 {
            let (kind, request) = makeRequest(random, fixture: fixture, url: url)
            kinds[kind, default: 0] += 1
            let response = await fixture.endpoint.handle(request, now: fixture.now)
            let type = response.json?["__type"] as? String ?? ""
            let header = response.headers.first { $0.name == "x-amzn-query-error" }?.value ?? ""
            let context = "request \(index) (\(kind), seed \(seed)): \(response.status) \(String(decoding: response.body.prefix(200), as: UTF8.self))"
            XCTAssertTrue((400..<500).contains(response.status), context)
            XCTAssertTrue(type.hasPrefix("com.amazonaws.sqs#") && type.count > 18, context)
            XCTAssertFalse(header.isEmpty, context)
            if (400..<500).contains(response.status) == false { break }
        }
        let after = try await snapshot(fixture.service)
        XCTAssertEqual(after, before, "a refused request changed a queue (seed \(seed))")
        XCTAssertEqual(kinds.count, Self.kinds.count, "every kind of malformation was tried: \(kinds)")
        print("fuzz: 1000 malformed requests refused, queues unchanged; by kind \(kinds.sorted { $0.key < $1.key })")
        await fixture.close()
    }

    static let kinds = [
        "random-bytes", "truncated-json", "json-array", "deep-nesting", "wrong-types", "huge-body", "missing-parameter",
        "bad-signature", "wrong-secret", "unknown-key", "no-authorization", "garbage-authorization", "stale-date",
        "wrong-target", "no-target", "wrong-service-scope", "bad-receipt", "bad-attributes", "unknown-queue", "get-method",
    ]

    func makeRequest(_ random: SeededRandomSource, fixture: EndpointFixture, url: String) -> (String, SignedRequest) {
        let kind = Self.kinds[random.uniform(in: 0...(Self.kinds.count - 1))]
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(random.uniform(in: 0...255)) } }
        func json(_ object: [String: Any]) -> [UInt8] { Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data()) }
        let mutating = ["SendMessage", "DeleteQueue", "PurgeQueue", "SetQueueAttributes", "SendMessageBatch", "DeleteMessage"]
        let action = mutating[random.uniform(in: 0...(mutating.count - 1))]
        let valid = json(["QueueUrl": url, "MessageBody": "sneaky"])
        switch kind {
        case "random-bytes":
            var body = bytes(random.uniform(in: 1...300))
            body[0] = UInt8(ascii: "x")
            return (kind, fixture.signed(action, body: body))
        case "truncated-json":
            let full = json(["QueueUrl": url, "MessageBody": "truncated", "MessageAttributes": ["a": ["DataType": "String", "StringValue": "v"]]])
            return (kind, fixture.signed(action, body: Array(full.prefix(random.uniform(in: 1...(full.count - 1))))))
        case "json-array":
            return (kind, fixture.signed(action, body: Array("[\"QueueUrl\", \"\(url)\"]".utf8)))
        case "deep-nesting":
            let depth = random.uniform(in: 33...50_000)
            return (kind, fixture.signed(action, body: Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8)))
        case "wrong-types":
            let values: [Any] = [42, true, ["x"], ["k": "v"], NSNull(), 1.5]
            return (kind, fixture.signed("SendMessage", body: json(["QueueUrl": values[random.uniform(in: 0...5)], "MessageBody": values[random.uniform(in: 0...5)]])))
        case "huge-body":
            let size = random.uniform(in: 1_025...300_000)
            return (kind, fixture.signed("SendMessage", body: json(["QueueUrl": url, "MessageBody": String(repeating: "z", count: size)])))
        case "missing-parameter":
            return (kind, fixture.signed(action, body: Array("{}".utf8)))
        case "bad-signature":
            var request = fixture.signed(action, body: valid)
            let index = request.headers.firstIndex { $0.name == "Authorization" } ?? 0
            let hex = Array("0123456789abcdef")
            request.headers[index].value = String(request.headers[index].value.dropLast(64))
                + String((0..<64).map { _ in hex[random.uniform(in: 0...15)] })
            return (kind, request)
        case "wrong-secret":
            return (kind, fixture.signed(action, body: valid, credentials: SQSCredentials(accessKeyID: "AKIDTEST", secretAccessKey: String(bytes(8).map { Character(Unicode.Scalar(65 + $0 % 26)) }))))
        case "unknown-key":
            return (kind, fixture.signed(action, body: valid, credentials: SQSCredentials(accessKeyID: "AKID\(random.uniform(in: 0...99_999))", secretAccessKey: "secret/key+value")))
        case "no-authorization":
            var request = fixture.signed(action, body: valid)
            request.headers.removeAll { $0.name == "Authorization" }
            return (kind, request)
        case "garbage-authorization":
            var request = fixture.signed(action, body: valid)
            let index = request.headers.firstIndex { $0.name == "Authorization" } ?? 0
            let garbage = ["AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=/", "Basic dXNlcjpwYXNz", "",
                           "AWS4-HMAC-SHA256 Credential=AKIDTEST/2026/us-east-1/sqs/aws4_request, SignedHeaders=, Signature=",
                           String(decoding: bytes(40).map { 32 + $0 % 95 }, as: UTF8.self)]
            request.headers[index].value = garbage[random.uniform(in: 0...(garbage.count - 1))]
            return (kind, request)
        case "stale-date":
            let saved = fixture.now
            fixture.now = saved.addingTimeInterval(Double(random.uniform(in: 16...100_000)) * 60 * (random.uniform(in: 0...1) == 0 ? 1 : -1))
            let request = fixture.signed(action, body: valid)
            fixture.now = saved
            return (kind, request)
        case "wrong-target":
            let targets = ["AmazonSQS.", "AmazonSQS.sendmessage", "AmazonSNS.Publish", "AmazonSQS.SendMessage ", "AmazonSQS.\(String(decoding: bytes(6).map { 97 + $0 % 26 }, as: UTF8.self))"]
            var request = fixture.signed(action, body: valid)
            let target = targets[random.uniform(in: 0...(targets.count - 1))]
            request = fixture.signed("X", body: valid)
            let index = request.headers.firstIndex { $0.name == "X-Amz-Target" } ?? 0
            request.headers[index].value = target
            return (kind, resign(request, fixture: fixture))
        case "no-target":
            var request = fixture.signed(action, body: valid)
            request.headers.removeAll { $0.name == "X-Amz-Target" }
            return (kind, resign(request, fixture: fixture, signedHeaders: ["content-type", "host", "x-amz-date"]))
        case "wrong-service-scope":
            var request = fixture.signed(action, body: valid)
            let index = request.headers.firstIndex { $0.name == "Authorization" } ?? 0
            request.headers[index].value = request.headers[index].value.replacingOccurrences(of: "/sqs/", with: "/s3/")
            return (kind, request)
        case "bad-receipt":
            let handles = ["", "x", "0:m", "-1:m", ":", String(repeating: "9", count: 40) + ":m", "1:"]
            return (kind, fixture.signed("DeleteMessage", body: json(["QueueUrl": url, "ReceiptHandle": handles[random.uniform(in: 0...(handles.count - 1))]])))
        case "bad-attributes":
            let attributes: [[String: Any]] = [
                ["a": ["DataType": "Colour", "StringValue": "red"]], ["a": ["DataType": "Number", "StringValue": "NaNx"]],
                ["AWS.x": ["DataType": "String", "StringValue": "v"]], ["a": ["DataType": "Binary", "BinaryValue": "!!!"]],
                ["a": "flat"], Dictionary(uniqueKeysWithValues: (0..<11).map { ("k\($0)", ["DataType": "String", "StringValue": "v"]) }),
            ]
            return (kind, fixture.signed("SendMessage", body: json(["QueueUrl": url, "MessageBody": "m", "MessageAttributes": attributes[random.uniform(in: 0...(attributes.count - 1))]])))
        case "unknown-queue":
            return (kind, fixture.signed(action, body: json(["QueueUrl": url + "-missing", "MessageBody": "x", "ReceiptHandle": "1:x", "Attributes": ["DelaySeconds": "1"], "Entries": [["Id": "a", "MessageBody": "x"]]])))
        default:  // get-method
            var request = fixture.signed(action, body: valid)
            request.method = "GET"
            return (kind, resign(request, fixture: fixture))
        }
    }

    /// Signs a modified request again, so that it is refused for what was modified, not for its signature.
    func resign(_ request: SignedRequest, fixture: EndpointFixture, signedHeaders: [String] = ["content-type", "host", "x-amz-date", "x-amz-target"]) -> SignedRequest {
        var request = request
        request.headers.removeAll { $0.name == "Authorization" }
        let amzDate = request.header("X-Amz-Date") ?? ""
        let date = String(amzDate.prefix(8))
        let signer = SignatureV4Verifier(credentials: EndpointFixture.credentials)
        let signature = signer.signatureHex(request, signedHeaders: signedHeaders, amzDate: amzDate, scope: "\(date)/us-east-1/sqs/aws4_request", date: date, region: "us-east-1") ?? ""
        request.headers.append((name: "Authorization", value: "AWS4-HMAC-SHA256 Credential=AKIDTEST/\(date)/us-east-1/sqs/aws4_request, SignedHeaders=\(signedHeaders.joined(separator: ";")), Signature=\(signature)"))
        return request
    }
}

extension RandomSource {
    func uniform(in range: ClosedRange<Int>) -> Int {
        Int(uniform(in: Int64(range.lowerBound)...Int64(range.upperBound)))
    }
}
