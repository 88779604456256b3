import Foundation
import MessageQueue
import Primitives
import SQSServer
import TestKit
import XCTest

/// An endpoint over a real queue (three replicas) in a temporary directory, and a client that signs
/// requests as an AWS SDK does.
final class EndpointFixture: @unchecked Sendable {
    static let credentials = SQSCredentials(accessKeyID: "AKIDTEST", secretAccessKey: "secret/key+value")
    let directory: TemporaryDirectory
    var service: MessageQueueService
    var endpoint: SQSEndpoint
    var now = Date(timeIntervalSince1970: 1_800_000_000)

    init() throws {
        directory = try TemporaryDirectory(prefix: "hongbao-sqs")
        service = try MessageQueueService.open(root: directory.appending("queue"), limits: SQSLimits.queueLimits())
        endpoint = SQSEndpoint(service: service, credentials: EndpointFixture.credentials)
    }

    func reopen() async throws {
        await service.close()
        service = try MessageQueueService.open(root: directory.appending("queue"), limits: SQSLimits.queueLimits())
        endpoint = SQSEndpoint(service: service, credentials: EndpointFixture.credentials)
    }

    func close() async {
        await service.close()
        directory.remove()
    }

    static func amzDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    /// A request signed with `credentials` (the endpoint's own unless told otherwise). `action` is an SQS action,
    /// or a whole target with its prefix (`HongbaoSQS.RewindQueue`).
    func signed(
        _ action: String, body: [UInt8], credentials: SQSCredentials = EndpointFixture.credentials,
        region: String = "us-east-1", extraHeaders: [(name: String, value: String)] = []
    ) -> SignedRequest {
        let amzDate = EndpointFixture.amzDate(now)
        let date = String(amzDate.prefix(8))
        var request = SignedRequest(
            method: "POST", path: "/", query: "",
            headers: [
                (name: "Host", value: "127.0.0.1:9324"), (name: "Content-Type", value: "application/x-amz-json-1.0"),
                (name: "X-Amz-Target", value: action.contains(".") ? action : "AmazonSQS.\(action)"),
                (name: "X-Amz-Date", value: amzDate),
            ] + extraHeaders,
            body: body)
        let signer = SignatureV4Verifier(credentials: credentials)
        let signedHeaders = ["content-type", "host", "x-amz-date", "x-amz-target"]
        let signature = signer.signatureHex(
            request, signedHeaders: signedHeaders, amzDate: amzDate, scope: "\(date)/\(region)/sqs/aws4_request",
            date: date, region: region) ?? ""
        request.headers.append((
            name: "Authorization",
            value: "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(date)/\(region)/sqs/aws4_request, SignedHeaders=\(signedHeaders.joined(separator: ";")), Signature=\(signature)"))
        return request
    }

    /// Calls an action with a JSON body; returns the response.
    func call(_ action: String, _ parameters: [String: Any]) async -> SQSResponse {
        let body = (try? JSONSerialization.data(withJSONObject: parameters)) ?? Data()
        return await endpoint.handle(signed(action, body: Array(body)), now: now)
    }

    /// Calls an action that must succeed; returns its JSON.
    func ok(_ action: String, _ parameters: [String: Any], file: StaticString = #filePath, line: UInt = #line) async -> [String: Any] {
        let response = await call(action, parameters)
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self), file: file, line: line)
        return response.json ?? [:]
    }

    /// Calls an action that must fail; returns (status, query code, message).
    func failure(_ action: String, _ parameters: [String: Any]) async -> (status: Int, code: String, type: String, message: String) {
        let response = await call(action, parameters)
        let header = response.headers.first { $0.name.lowercased() == "x-amzn-query-error" }?.value ?? ""
        let code = String(header.split(separator: ";").first ?? "")
        let json = response.json ?? [:]
        let type = (json["__type"] as? String ?? "").split(separator: "#").last.map(String.init) ?? ""
        return (response.status, code, type, json["message"] as? String ?? "")
    }

    func createQueue(_ name: String, _ attributes: [String: String] = [:]) async -> String {
        var parameters: [String: Any] = ["QueueName": name]
        if !attributes.isEmpty { parameters["Attributes"] = attributes }
        return await ok("CreateQueue", parameters)["QueueUrl"] as? String ?? ""
    }
}
