import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// Where and how the SQS endpoint listens.
public struct SQSServerConfiguration: Sendable {
    /// The address to listen on: loopback unless told otherwise.
    public var host: String
    /// The port; 0 picks a free one (the `onRunning` callback tells which).
    public var port: Int
    /// Open connections beyond this wait in the listen backlog until one closes.
    public var maxConnections: Int
    /// A connection with no traffic for this long is closed (longer than the longest long poll).
    public var idleTimeoutSeconds: Int64
    /// A request (reading its body and answering it) that takes longer is answered with RequestTimeout.
    public var requestTimeoutSeconds: Int64
    /// The most bytes of headers one request may carry.
    public var maxHeaderBytes: Int
    /// The largest request body read.
    public var maxBodyBytes: Int
    /// Whether each connection's task runs on its channel's event loop (`EventLoopTaskExecutor`), where the
    /// bytes arrive, instead of on Swift's global pool. Off by default: on a quiet machine (`hongbao bench
    /// sqs`, both ways alternated, two rounds) pinning saved no CPU per call (732 against 731–769 µs) and its
    /// SendMessage p99 was worse (24.8 and 19.4 ms against 20.8 and 11.6); on a crowded one too.
    public var pinsConnectionsToEventLoops = false

    public init(
        host: String = "127.0.0.1", port: Int = 9324, maxConnections: Int = 512, idleTimeoutSeconds: Int64 = 60,
        requestTimeoutSeconds: Int64 = 45, maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = SQSEndpoint.maxBodyBytes
    ) {
        self.host = host
        self.port = port
        self.maxConnections = maxConnections
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
    }
}

/// Counts open connections into `SQSTraffic` and stops accepting past the limit.
struct ConnectionGate: AvailableConnectionsDelegate {
    let traffic: SQSTraffic
    let limit: Int

    mutating func connectionOpened() { traffic.connectionOpened() }
    mutating func connectionClosed() { traffic.connectionClosed() }
    func isAcceptingNewConnections() -> Bool { traffic.openConnections < limit }
}

/// Resumes a continuation once, whichever of the request and its deadline comes first.
final class ResumeOnce<Value: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Value, Never>?>
    init(_ continuation: CheckedContinuation<Value, Never>) { self.continuation = Mutex(continuation) }

    /// Resumes with `value` unless resumed already; returns whether this call did.
    @discardableResult
    func resume(_ value: Value) -> Bool {
        guard let continuation = continuation.withLock({ $0.take() }) else { return false }
        continuation.resume(returning: value)
        return true
    }
}

/// The task answering one request, cancelled when its deadline passes or its connection goes.
final class WorkBox: Sendable {
    private let state = Mutex<(task: Task<Void, Never>?, cancelled: Bool)>((nil, false))

    func start(_ task: Task<Void, Never>) {
        let cancelled = state.withLock { state in
            state.task = task
            return state.cancelled
        }
        if cancelled { task.cancel() }
    }

    func cancel() {
        let task = state.withLock { state in
            state.cancelled = true
            return state.task
        }
        task?.cancel()
    }
}

/// Every request's deadline, expired by one task that ticks while any is pending, instead of a timer (and a
/// sleeping task) per request. All requests have the same time limit, so deadlines expire in the order they
/// were added.
final class RequestDeadlines: Sendable {
    private struct Entry {
        var deadline: ContinuousClock.Instant
        var expire: @Sendable () -> Void
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var next: UInt64 = 0
        var oldest: UInt64 = 0
        var ticking = false
    }

    private let state = Mutex(State())
    let tick: Duration

    init(tick: Duration = .milliseconds(250)) { self.tick = tick }

    /// Runs `expire` once `limit` has passed, unless `remove` is called first; returns the id for `remove`.
    func add(after limit: Duration, _ expire: @escaping @Sendable () -> Void) -> UInt64 {
        let deadline = ContinuousClock.now + limit
        let (id, start) = state.withLock { state in
            let id = state.next
            state.next += 1
            state.entries[id] = Entry(deadline: deadline, expire: expire)
            let start = !state.ticking
            state.ticking = true
            return (id, start)
        }
        if start { Task.detached { await self.run() } }
        return id
    }

    func remove(_ id: UInt64) { _ = state.withLock { $0.entries.removeValue(forKey: id) } }

    /// How many deadlines are pending (tests).
    var pending: Int { state.withLock { $0.entries.count } }

    private func run() async {
        while true {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let (expired, stop) = state.withLock { state -> ([@Sendable () -> Void], Bool) in
                var expired: [@Sendable () -> Void] = []
                while state.oldest < state.next {
                    if let entry = state.entries[state.oldest] {
                        guard entry.deadline <= now else { break }
                        expired.append(entry.expire)
                        state.entries[state.oldest] = nil
                    }
                    state.oldest += 1
                }
                if state.entries.isEmpty { state.ticking = false }
                return (expired, state.entries.isEmpty)
            }
            for expire in expired { expire() }
            if stop { return }
        }
    }
}

/// Hummingbird's HTTP/1.1 channel with each connection's task pinned to the connection's own event loop
/// (`EventLoopTaskExecutor`), so that a request is read, answered and written on one thread.
struct PinnedHTTPChannel: ServerChildChannel {
    let inner: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        inner.setup(channel: channel, logger: logger)
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await EventLoopTaskExecutor.pinned(to: value.channel.eventLoop) {
            await inner.handle(value: value, logger: logger)
        }
    }
}

/// The SQS endpoint over HTTP/1.1 (Hummingbird). Every request goes to `SQSEndpoint.handle`.
public enum SQSHTTPServer {
    /// Why the server could not listen or stopped, in words: the system's reason for a socket error ("Address
    /// already in use"), where NIO's own text names its call (`bind(descriptor:ptr:bytes:): … (errno: 98)`).
    public static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        if let error = error as? SocketAddressError.UnknownHost { return "unknown host (\(error.errorDescription))" }
        if case .unknown = error as? SocketAddressError { return "unknown host" }
        return "\(error)"
    }

    /// Builds the application; run it with `runService()` (stops on SIGINT/SIGTERM) or `run()`.
    public static func application(
        endpoint: SQSEndpoint, configuration: SQSServerConfiguration,
        onRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let deadlines = RequestDeadlines()
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            await respond(to: request, endpoint: endpoint, configuration: configuration, deadlines: deadlines)
        }
        var http1 = HTTP1Channel.Configuration(idleTimeout: .seconds(configuration.idleTimeoutSeconds))
        http1.httpDecoder = .init(
            maxHeaderFieldSize: configuration.maxHeaderBytes, maxHeaderListSize: configuration.maxHeaderBytes,
            maxHeaderFieldCount: 100)
        let channel = http1
        var logger = Logger(label: "hongbao.sqs")
        logger.logLevel = .critical
        let traffic = endpoint.traffic
        let address = "\(configuration.host):\(configuration.port)"
        return Application(
            responder: responder,
            server: configuration.pinsConnectionsToEventLoops
                ? HTTPServerBuilder { responder in
                    PinnedHTTPChannel(inner: HTTP1Channel(responder: responder, configuration: channel))
                }
                : .http1(configuration: http1),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "hongbao-sqs",
                availableConnectionsDelegate: ConnectionGate(traffic: traffic, limit: configuration.maxConnections)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                traffic.setAddress(configuration.port == 0 ? "\(configuration.host):\(port)" : address)
                await onRunning(port)
            },
            logger: logger)
    }

    /// Reads the body (up to the limit) and answers the request.
    static func handle(_ request: Request, endpoint: SQSEndpoint, configuration: SQSServerConfiguration) async -> SQSResponse {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: configuration.maxBodyBytes)
        } catch {
            // Cancelled by the deadline (or by the connection going away): the answer is the timeout, whichever
            // of this task and the deadline gives it first.
            if Task.isCancelled {
                endpoint.traffic.record(action: "(timeout)", errorCode: SQSError.requestTimeout.type)
                return SQSEndpoint.response(for: .requestTimeout)
            }
            endpoint.traffic.record(action: "(invalid)", errorCode: "RequestEntityTooLarge")
            return SQSEndpoint.response(for: .tooLarge(configuration.maxBodyBytes))
        }
        var headers: [(name: String, value: String)] = []
        if let authority = request.head.authority { headers.append((name: "host", value: authority)) }
        for field in request.headers { headers.append((name: field.name.canonicalName, value: field.value)) }
        let signed = SignedRequest(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
            headers: headers, body: Array(buffer: body))
        return await endpoint.handle(signed)
    }

    static func respond(
        to request: Request, endpoint: SQSEndpoint, configuration: SQSServerConfiguration,
        deadlines: RequestDeadlines
    ) async -> Response {
        let work = WorkBox()
        let answer: SQSResponse = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<SQSResponse, Never>) in
                let once = ResumeOnce(continuation)
                let deadline = deadlines.add(after: .seconds(configuration.requestTimeoutSeconds)) {
                    // The cancellation first: it ends a body read in flight at once, before the connection goes
                    // on reading its next request from the same stream (two readers at once are a crash).
                    work.cancel()
                    if once.resume(SQSEndpoint.response(for: .requestTimeout)) {
                        endpoint.traffic.record(action: "(timeout)", errorCode: SQSError.requestTimeout.type)
                    }
                }
                work.start(Task(executorPreference: EventLoopTaskExecutor.current) {
                    let response = await handle(request, endpoint: endpoint, configuration: configuration)
                    deadlines.remove(deadline)
                    once.resume(response)
                })
            }
        } onCancel: {
            work.cancel()
        }
        var fields = HTTPFields()
        for header in answer.headers {
            if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
        }
        fields.append(HTTPField(name: .contentLength, value: String(answer.body.count)))
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}
