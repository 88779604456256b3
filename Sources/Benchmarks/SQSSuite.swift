import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MessageQueue
import Primitives
import SQSServer

/// `hongbao bench sqs`: send-batch → receive → delete-batch cycles of 10 through the SQS endpoint over
/// HTTP (a real `hongbao serve` server in this process, requests signed as an SDK signs them), beside the
/// same cycles straight on the queue, in the same run; then the p99 of single SendMessage calls offered at
/// 2,000 requests/s. The HTTP client is Foundation's URLSession (no extra package to build).
public enum SQSSuite {
    static let workers = 16
    static let batch = 10
    static let minimumRatio = 0.5
    static let latencyGoalMilliseconds = 10.0

    public static func run(_ context: BenchContext) async throws -> [BenchFigure] {
        let messages = context.quick ? 4_000 : 40_000
        var http: [Double] = [], direct: [Double] = []
        for run in 1...context.runs {
            context.progress("sqs: run \(run)/\(context.runs)")
            try await context.withScratch("sqs") { directory in
                direct.append(try await directCycles(root: directory + "/direct", messages: messages))
                http.append(try await httpCycles(root: directory + "/http", messages: messages))
            }
        }
        let cycles = BenchFigure(
            suite: "sqs", name: "SQS over HTTP, 3 replicas", unit: "cycles/s", samples: Samples(http),
            higherIsBetter: true, baselineName: "same cycles in process", baseline: Samples(direct),
            note: "\(messages) messages, \(workers) clients, batches of \(batch), signed requests, FULL")
        let met = (cycles.ratio ?? 0) >= minimumRatio
        var p99: [Double] = [], p50: [Double] = []
        let seconds = context.quick ? 2 : 5
        for run in 1...context.runs {
            context.progress("sqs: SendMessage latency at 2,000/s, run \(run)/\(context.runs)")
            try await context.withScratch("sqs-latency") { directory in
                let (fiftieth, ninetyNinth) = try await sendLatency(root: directory, rate: 2_000, seconds: seconds)
                p50.append(fiftieth)
                p99.append(ninetyNinth)
            }
        }
        let latency = BenchFigure(
            suite: "sqs", name: "SendMessage p99 at 2,000/s over HTTP", unit: "ms", samples: Samples(p99),
            higherIsBetter: false, baselineName: "p50", baseline: Samples(p50),
            note: "single signed SendMessage calls offered open-loop for \(seconds) s")
        return [
            cycles.with(goal: "≥ 0.5× in process", met: met),
            latency.with(goal: "≤ 10 ms", met: (Samples(p99).median) <= latencyGoalMilliseconds),
        ]
    }

    /// The in-process baseline: the same cycles on the queue service, batches of 10.
    static func directCycles(root: String, messages: Int) async throws -> Double {
        let service = try MessageQueueService.open(root: root, limits: SQSLimits.queueLimits())
        try await service.createQueue("bench")
        let perWorker = max(1, messages / (batch * workers))
        let start = ContinuousClock.now
        let deleted = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var deleted = 0
                    for _ in 0..<perWorker {
                        _ = try await service.sendBatch("bench", (0..<batch).map { _ in OutgoingMessage(body: body) })
                        let received = try await service.receiveBatch("bench", maxCount: batch, visibilityTimeout: .seconds(60))
                        if !received.isEmpty { try await service.deleteBatch("bench", receipts: received.map(\.receipt)) }
                        deleted += received.count
                    }
                    return deleted
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = (ContinuousClock.now - start).secondsDouble
        let left = try await service.counters(of: "bench").total
        await service.close()
        guard deleted + left == perWorker * workers * batch else {
            throw BenchError.verificationFailed("sqs in process: \(deleted) deleted + \(left) left of \(perWorker * workers * batch)")
        }
        return Double(deleted) / elapsed
    }

    /// The same cycles through the endpoint over HTTP.
    static func httpCycles(root: String, messages: Int) async throws -> Double {
        try await withServer(root: root) { client, service in
            let url = try await client.createQueue("bench")
            let perWorker = max(1, messages / (batch * workers))
            let start = ContinuousClock.now
            let deleted = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<workers {
                    group.addTask {
                        var deleted = 0
                        for _ in 0..<perWorker {
                            let entries = (0..<batch).map { ["Id": "e\($0)", "MessageBody": body] }
                            _ = try await client.call("SendMessageBatch", ["QueueUrl": url, "Entries": entries])
                            let received = try await client.call("ReceiveMessage", [
                                "QueueUrl": url, "MaxNumberOfMessages": batch, "VisibilityTimeout": 60,
                            ])
                            let handles = (received["Messages"] as? [[String: Any]] ?? []).compactMap { $0["ReceiptHandle"] as? String }
                            if !handles.isEmpty {
                                let deletes = handles.enumerated().map { ["Id": "d\($0.offset)", "ReceiptHandle": $0.element] }
                                let result = try await client.call("DeleteMessageBatch", ["QueueUrl": url, "Entries": deletes])
                                deleted += (result["Successful"] as? [Any])?.count ?? 0
                            }
                        }
                        return deleted
                    }
                }
                return try await group.reduce(0, +)
            }
            let elapsed = (ContinuousClock.now - start).secondsDouble
            let left = try await service.counters(of: "bench").total
            guard deleted + left == perWorker * workers * batch else {
                throw BenchError.verificationFailed("sqs over HTTP: \(deleted) deleted + \(left) left of \(perWorker * workers * batch)")
            }
            return Double(deleted) / elapsed
        }
    }

    /// p50 and p99 (ms) of single SendMessage calls offered at `rate` per second, open loop.
    static func sendLatency(root: String, rate: Int, seconds: Int) async throws -> (Double, Double) {
        try await withServer(root: root) { client, service in
            let url = try await client.createQueue("latency")
            let perTick = max(1, rate / 200)
            let start = ContinuousClock.now
            var latencies: [Double] = []
            var failures = 0
            try await withThrowingTaskGroup(of: Double?.self) { group in
                for index in 0..<(seconds * 200) {
                    let due = start + .milliseconds(5) * index
                    try await Task.sleep(until: due, clock: .continuous)
                    for _ in 0..<perTick {
                        group.addTask {
                            do {
                                _ = try await client.call("SendMessage", ["QueueUrl": url, "MessageBody": body])
                                return (ContinuousClock.now - due).secondsDouble * 1_000
                            } catch {
                                return nil
                            }
                        }
                    }
                }
                for try await value in group {
                    if let value { latencies.append(value) } else { failures += 1 }
                }
            }
            let stored = try await service.counters(of: "latency").total
            guard failures == 0, stored == perTick * 200 * seconds else {
                throw BenchError.verificationFailed("sqs latency: \(stored) stored, \(failures) failed of \(perTick * 200 * seconds)")
            }
            latencies.sort()
            func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
            return (percentile(0.5), percentile(0.99))
        }
    }

    /// Runs `body` against an SQS endpoint on a free loopback port over a fresh queue in `root`.
    static func withServer<T: Sendable>(
        root: String, _ body: @Sendable (Client, MessageQueueService) async throws -> T
    ) async throws -> T {
        let service = try MessageQueueService.open(root: root, limits: SQSLimits.queueLimits())
        let credentials = SQSCredentials(accessKeyID: "BENCHKEY", secretAccessKey: "bench-secret")
        let endpoint = SQSEndpoint(service: service, credentials: credentials)
        let port = AsyncStream<Int>.makeStream()
        let application = SQSHTTPServer.application(
            endpoint: endpoint, configuration: SQSServerConfiguration(port: 0)) { port.continuation.yield($0) }
        let server = Task { try await application.run() }
        var iterator = port.stream.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            server.cancel()
            await service.close()
            throw BenchError.verificationFailed("the SQS endpoint did not start")
        }
        let client = Client(base: "http://127.0.0.1:\(bound)", credentials: credentials, connections: workers)
        do {
            let result = try await body(client, service)
            server.cancel()
            _ = try? await server.value
            await service.close()
            return result
        } catch {
            server.cancel()
            _ = try? await server.value
            await service.close()
            throw error
        }
    }

    /// A minimal SQS client: JSON 1.0 requests signed with Signature Version 4, over URLSession.
    final class Client: Sendable {
        let base: String
        let signer: SignatureV4Verifier
        let session: URLSession

        init(base: String, credentials: SQSCredentials, connections: Int) {
            self.base = base
            signer = SignatureV4Verifier(credentials: credentials)
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpMaximumConnectionsPerHost = connections
            session = URLSession(configuration: configuration)
        }

        func createQueue(_ name: String) async throws -> String {
            let result = try await call("CreateQueue", ["QueueName": name])
            guard let url = result["QueueUrl"] as? String else { throw BenchError.verificationFailed("CreateQueue: \(result)") }
            return url
        }

        func call(_ action: String, _ parameters: [String: Any]) async throws -> [String: Any] {
            let body = Array(try JSONSerialization.data(withJSONObject: parameters))
            let amzDate = Client.amzDate(Date())
            let date = String(amzDate.prefix(8))
            let host = String(base.dropFirst("http://".count))
            let headers = [
                (name: "content-type", value: "application/x-amz-json-1.0"), (name: "host", value: host),
                (name: "x-amz-date", value: amzDate), (name: "x-amz-target", value: "AmazonSQS.\(action)"),
            ]
            let signed = SignedRequest(method: "POST", path: "/", query: "", headers: headers, body: body)
            let scope = "\(date)/us-east-1/sqs/aws4_request"
            let signature = signer.signatureHex(
                signed, signedHeaders: headers.map(\.name), amzDate: amzDate, scope: scope, date: date,
                region: "us-east-1") ?? ""
            var request = URLRequest(url: URL(string: base + "/")!)
            request.httpMethod = "POST"
            for header in headers where header.name != "host" { request.setValue(header.value, forHTTPHeaderField: header.name) }
            request.setValue(
                "AWS4-HMAC-SHA256 Credential=\(signer.credentials.accessKeyID)/\(scope), SignedHeaders=\(headers.map(\.name).joined(separator: ";")), Signature=\(signature)",
                forHTTPHeaderField: "Authorization")
            request.httpBody = Data(body)
            let (data, response) = try await session.data(for: request)
            guard (response as? HTTPURLResponse)?.statusCode == 200,
                  let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            else {
                throw BenchError.verificationFailed("\(action) answered \(String(decoding: data.prefix(300), as: UTF8.self))")
            }
            return object
        }

        static func amzDate(_ date: Date) -> String {
            var seconds = time_t(date.timeIntervalSince1970)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            return String(
                format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        }
    }

    static let body = String(repeating: "m", count: 256)
}
