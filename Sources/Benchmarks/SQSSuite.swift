import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MessageQueue
import PostgresStores
import Primitives
import SQSServer
import Synchronization

/// `hongbao bench sqs`: send-batch → receive → delete-batch cycles of 10 through the SQS endpoint over
/// HTTP (a real `hongbao serve` server in this process, requests signed as an SDK signs them), beside the
/// same cycles straight on the queue, in the same run; then the p99 of single SendMessage calls offered at
/// 2,000 requests/s, offered open loop: each request has its due time, and its latency counts from then,
/// so a slow server shows as latency rather than as a client that politely waits. The HTTP client is a
/// keep-alive connection per worker over SwiftNIO (`BenchHTTPConnection`); `HONGBAO_BENCH_SQS_CLIENT=urlsession`
/// uses Foundation's URLSession instead, to compare. `HONGBAO_BENCH_SQS_PINNED=1` runs the server's and the
/// client's connections on their event loops instead of on Swift's global pool, to compare.
public enum SQSSuite {
    /// Whether connections run on their event loops (`HONGBAO_BENCH_SQS_PINNED=1`; default no, as the server).
    static var pinned: Bool { ProcessInfo.processInfo.environment["HONGBAO_BENCH_SQS_PINNED"] == "1" }

    static let workers = 16
    /// Connections offering the open-loop SendMessage load (each waits for its next due time).
    static let latencyConnections = 64
    static let batch = 10
    static let minimumRatio = 0.5
    static let latencyGoalMilliseconds = 10.0

    public static func run(_ context: BenchContext) async throws -> [BenchFigure] {
        let messages = context.quick ? 1_000 : 40_000
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
            note: "\(messages) messages, \(workers) clients, batches of \(batch), signed requests, FULL\(pinned ? ", connections pinned to their event loops" : "")")
        let met = (cycles.ratio ?? 0) >= minimumRatio
        var figures = [cycles.with(goal: "≥ 0.5× in process", met: met)]
        if let server = context.postgres {
            // The queues kept on PostgreSQL (`serve --store postgres`), beside the SQLite replicas' figure of this run.
            var postgres: [Double] = []
            for run in 1...context.runs {
                context.progress("sqs: on PostgreSQL, run \(run)/\(context.runs)")
                postgres.append(try await httpCyclesOnPostgres(server, messages: messages))
            }
            figures.append(BenchFigure(
                suite: "sqs", name: "SQS over HTTP, on PostgreSQL", unit: "cycles/s", samples: Samples(postgres),
                higherIsBetter: true, baselineName: "3 SQLite replicas, same run", baseline: Samples(http),
                note: "\(messages) messages, \(workers) clients, batches of \(batch), signed requests; each group commit one transaction on \(server.redacted)"))
        }
        var p99: [Double] = [], p50: [Double] = [], cpu: [Double] = [], served: [Double] = [], grouped: [Double] = []
        let seconds = context.quick ? 1 : 5
        for run in 1...context.runs {
            context.progress("sqs: SendMessage latency at 2,000/s, run \(run)/\(context.runs)")
            try await context.withScratch("sqs-latency") { directory in
                let result = try await sendLatency(root: directory, rate: 2_000, seconds: seconds)
                p50.append(result.p50)
                p99.append(result.p99)
                cpu.append(result.cpuMicroseconds)
                served.append(result.servedPerSecond)
                grouped.append(result.sendsPerCommit)
            }
        }
        // The CPU a call costs (client and server together: they share this process) and the rate the calls were
        // answered at tell a server that cannot keep up from one starved of CPU by the rest of the machine.
        let latency = BenchFigure(
            suite: "sqs", name: "SendMessage p99 at 2,000/s over HTTP", unit: "ms", samples: Samples(p99),
            higherIsBetter: false, baselineName: "p50", baseline: Samples(p50),
            note: "single signed SendMessage calls offered open-loop for \(seconds) s; answered at \(Int(Samples(served).median))/s; \(Int(Samples(cpu).median)) µs CPU per call (client and server); \(String(format: "%.1f", Samples(grouped).median)) calls per replica commit")
        return figures + [latency.with(goal: "≤ 10 ms", met: (Samples(p99).median) <= latencyGoalMilliseconds)]
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
        try await httpCycles(on: try MessageQueueService.open(root: root, limits: SQSLimits.queueLimits()), messages: messages)
    }

    /// The same cycles over HTTP on the queues kept in a scratch database of `server` (`PostgresQueueJournal`).
    static func httpCyclesOnPostgres(_ server: PostgresSettings, messages: Int) async throws -> Double {
        try await PostgresQueueBenchmark.withScratchDatabase(server) { scratch in
            try await PostgresPool.using(scratch, connections: 8) { pool in
                let journal = try await PostgresQueueJournal(pool: pool)
                return try await httpCycles(on: try await MessageQueueService.open(journal: journal, limits: SQSLimits.queueLimits()),
                                            messages: messages)
            }
        }
    }

    static func httpCycles(on service: MessageQueueService, messages: Int) async throws -> Double {
        try await withServer(on: service) { client, service in
            let url = try await client.session { try await client.createQueue("bench", on: &$0) }
            let perWorker = max(1, messages / (batch * workers))
            let start = ContinuousClock.now
            let deleted = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<workers {
                    group.addTask {
                        try await client.session { connection in
                            var deleted = 0
                            for _ in 0..<perWorker {
                                let entries = (0..<batch).map { ["Id": "e\($0)", "MessageBody": body] }
                                _ = try await client.call("SendMessageBatch", ["QueueUrl": url, "Entries": entries], on: &connection)
                                let received = try await client.call("ReceiveMessage", [
                                    "QueueUrl": url, "MaxNumberOfMessages": batch, "VisibilityTimeout": 60,
                                ], on: &connection)
                                let handles = (received["Messages"] as? [[String: Any]] ?? []).compactMap { $0["ReceiptHandle"] as? String }
                                if !handles.isEmpty {
                                    let deletes = handles.enumerated().map { ["Id": "d\($0.offset)", "ReceiptHandle": $0.element] }
                                    let result = try await client.call(
                                        "DeleteMessageBatch", ["QueueUrl": url, "Entries": deletes], on: &connection)
                                    deleted += (result["Successful"] as? [Any])?.count ?? 0
                                }
                            }
                            return deleted
                        }
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

    /// What one open-loop SendMessage run measured.
    struct LatencyResult: Sendable {
        var p50: Double
        var p99: Double
        /// Process CPU time (user and system) per call, client and server together.
        var cpuMicroseconds: Double
        /// Calls answered per second, from the first due time to the last answer.
        var servedPerSecond: Double
        /// SendMessage calls per replica transaction (how many shared each commit).
        var sendsPerCommit: Double
    }

    /// The process's CPU time so far (user and system), in seconds.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// p50 and p99 (ms) of single SendMessage calls offered at `rate` per second, open loop.
    static func sendLatency(root: String, rate: Int, seconds: Int) async throws -> LatencyResult {
        try await withServer(root: root) { client, service in
            let url = try await client.session { try await client.createQueue("latency", on: &$0) }
            let total = rate * seconds
            let interval = Duration.seconds(1) / rate
            let next = Counter()
            // Every connection is open before the clock starts.
            let ready = Counter()
            let start = ContinuousClock.now + .milliseconds(500)
            var latencies: [Double] = []
            var failures = 0
            let cpuBefore = processCPUSeconds()
            let commitsBefore = service.replicaCommits
            try await withThrowingTaskGroup(of: (latencies: [Double], failures: Int).self) { group in
                for _ in 0..<latencyConnections {
                    group.addTask {
                        try await client.session { connection in
                            _ = ready.take()
                            var latencies: [Double] = [], failures = 0
                            while true {
                                let index = next.take()
                                guard index < total else { break }
                                let due = start + interval * index
                                try await client.sleep(until: due, on: connection)
                                do {
                                    // The answer is not read (the queue's count is checked at the end): only its status.
                                    _ = try await client.call(
                                        "SendMessage", ["QueueUrl": url, "MessageBody": body], on: &connection, reading: false)
                                    latencies.append((ContinuousClock.now - due).secondsDouble * 1_000)
                                } catch {
                                    failures += 1
                                }
                            }
                            return (latencies, failures)
                        }
                    }
                }
                for try await result in group {
                    latencies += result.latencies
                    failures += result.failures
                }
            }
            let finished = ContinuousClock.now
            let cpu = processCPUSeconds() - cpuBefore
            let commits = Double(service.replicaCommits - commitsBefore) / Double(ReplicaID.allCases.count)
            let stored = try await service.counters(of: "latency").total
            guard failures == 0, stored == total, ready.take() == latencyConnections else {
                throw BenchError.verificationFailed("sqs latency: \(stored) stored, \(failures) failed of \(total)")
            }
            latencies.sort()
            func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
            return LatencyResult(
                p50: percentile(0.5), p99: percentile(0.99), cpuMicroseconds: cpu / Double(total) * 1_000_000,
                servedPerSecond: Double(total) / max(0.001, (finished - start).secondsDouble),
                sendsPerCommit: Double(total) / max(1, commits))
        }
    }

    /// Runs `body` against an SQS endpoint on a free loopback port over a fresh queue in `root`.
    static func withServer<T: Sendable>(
        root: String, _ body: @Sendable (Client, MessageQueueService) async throws -> T
    ) async throws -> T {
        try await withServer(on: try MessageQueueService.open(root: root, limits: SQSLimits.queueLimits()), body)
    }

    /// `body` with a client of an endpoint serving `service`, closed after it.
    static func withServer<T: Sendable>(
        on service: MessageQueueService, _ body: @Sendable (Client, MessageQueueService) async throws -> T
    ) async throws -> T {
        let credentials = SQSCredentials(accessKeyID: "BENCHKEY", secretAccessKey: "bench-secret")
        let endpoint = SQSEndpoint(service: service, credentials: credentials)
        let port = AsyncStream<Int>.makeStream()
        var configuration = SQSServerConfiguration(port: 0)
        configuration.pinsConnectionsToEventLoops = pinned
        let application = SQSHTTPServer.application(
            endpoint: endpoint, configuration: configuration) { port.continuation.yield($0) }
        let server = Task { try await application.run() }
        var iterator = port.stream.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            server.cancel()
            await service.close()
            throw BenchError.verificationFailed("the SQS endpoint did not start")
        }
        let client = Client(port: bound, credentials: credentials, connections: latencyConnections)
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

    /// A shared counter: `take` returns the next value.
    final class Counter: Sendable {
        private let value = Mutex(0)
        func take() -> Int { value.withLock { value in defer { value += 1 }; return value } }
    }

    /// How the bench reaches the endpoint: a NIO connection of its own per worker, or a shared URLSession.
    enum Connection {
        case nio(BenchHTTPConnection)
        case urlSession
    }

    /// A minimal SQS client: JSON 1.0 requests signed with Signature Version 4.
    final class Client: Sendable {
        let host = "127.0.0.1"
        let port: Int
        let signer: SignatureV4Verifier
        /// Set when `HONGBAO_BENCH_SQS_CLIENT=urlsession`.
        let urlSession: URLSession?

        init(port: Int, credentials: SQSCredentials, connections: Int) {
            self.port = port
            signer = SignatureV4Verifier(credentials: credentials)
            if ProcessInfo.processInfo.environment["HONGBAO_BENCH_SQS_CLIENT"] == "urlsession" {
                let configuration = URLSessionConfiguration.ephemeral
                configuration.httpMaximumConnectionsPerHost = connections
                urlSession = URLSession(configuration: configuration)
            } else {
                urlSession = nil
            }
        }

        /// Runs `body` with a connection of its own (closed afterwards).
        func session<T: Sendable>(_ body: (inout Connection) async throws -> T) async throws -> T {
            if urlSession != nil {
                var connection = Connection.urlSession
                return try await body(&connection)
            }
            return try await BenchHTTPConnection.with(host: host, port: port, pinned: SQSSuite.pinned) { nio in
                var connection = Connection.nio(nio)
                defer { if case .nio(let used) = connection { nio = used } }
                return try await body(&connection)
            }
        }

        /// Waits until `due`: on the connection's event loop for a NIO connection.
        func sleep(until due: ContinuousClock.Instant, on connection: Connection) async throws {
            switch connection {
            case .nio(let nio): try await nio.sleep(until: due)
            case .urlSession: try await Task.sleep(until: due, clock: .continuous)
            }
        }

        func createQueue(_ name: String, on connection: inout Connection) async throws -> String {
            let result = try await call("CreateQueue", ["QueueName": name], on: &connection)
            guard let url = result["QueueUrl"] as? String else { throw BenchError.verificationFailed("CreateQueue: \(result)") }
            return url
        }

        /// Calls `action`; returns the answer's JSON (or, not `reading` it, an empty object once the status is 200).
        func call(
            _ action: String, _ parameters: [String: Any], on connection: inout Connection, reading: Bool = true
        ) async throws -> [String: Any] {
            let body = SQSJSONWriter.data(parameters)
            let amzDate = Client.amzDate(Date())
            let date = String(amzDate.prefix(8))
            var headers = [
                (name: "content-type", value: "application/x-amz-json-1.0"), (name: "host", value: "\(host):\(port)"),
                (name: "x-amz-date", value: amzDate), (name: "x-amz-target", value: "AmazonSQS.\(action)"),
            ]
            let signed = SignedRequest(method: "POST", path: "/", query: "", headers: headers, body: body)
            let scope = "\(date)/us-east-1/sqs/aws4_request"
            let signature = signer.signatureHex(
                signed, signedHeaders: headers.map(\.name), amzDate: amzDate, scope: scope, date: date,
                region: "us-east-1") ?? ""
            headers.append((
                name: "authorization",
                value: "AWS4-HMAC-SHA256 Credential=\(signer.credentials.accessKeyID)/\(scope), SignedHeaders=\(headers.map(\.name).joined(separator: ";")), Signature=\(signature)"))
            let status: Int
            let data: [UInt8]
            switch connection {
            case .nio(var nio):
                (status, data) = try await nio.post("/", headers: headers, body: body)
                connection = .nio(nio)
            case .urlSession:
                guard let urlSession else { throw BenchError.setupFailed("no URLSession") }
                var request = URLRequest(url: URL(string: "http://\(host):\(port)/")!)
                request.httpMethod = "POST"
                for header in headers where header.name != "host" { request.setValue(header.value, forHTTPHeaderField: header.name) }
                request.httpBody = Data(body)
                let (answer, response) = try await urlSession.data(for: request)
                (status, data) = ((response as? HTTPURLResponse)?.statusCode ?? 0, Array(answer))
            }
            if status == 200, !reading { return [:] }
            guard status == 200, let object = try JSONSerialization.jsonObject(with: Data(data)) as? [String: Any] else {
                throw BenchError.verificationFailed("\(action) answered \(String(decoding: data.prefix(300), as: UTF8.self))")
            }
            return object
        }

        static func amzDate(_ date: Date) -> String {
            var seconds = time_t(date.timeIntervalSince1970)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            // Digits by hand: String(format:) goes through Foundation's formatter on every request.
            func digits(_ value: Int32, _ width: Int) -> String {
                let text = String(value)
                return String(repeating: "0", count: max(0, width - text.count)) + text
            }
            return digits(parts.tm_year + 1900, 4) + digits(parts.tm_mon + 1, 2) + digits(parts.tm_mday, 2) + "T"
                + digits(parts.tm_hour, 2) + digits(parts.tm_min, 2) + digits(parts.tm_sec, 2) + "Z"
        }
    }

    static let body = String(repeating: "m", count: 256)
}
