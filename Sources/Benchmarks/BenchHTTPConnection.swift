import NIOCore
import NIOHTTP1
import NIOPosix
import SQSServer

/// One keep-alive HTTP/1.1 connection over SwiftNIO (already built for the server), one request at a time:
/// the bench's client for the SQS endpoint. Foundation's URLSession on Linux (libcurl underneath) costs more
/// per request than the server it measures; async-http-client would bring TLS and HTTP/2 into every build.
struct BenchHTTPConnection {
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    private let eventLoop: any EventLoop

    /// The client's own event loops, apart from the server's (`MultiThreadedEventLoopGroup.singleton`): as a
    /// client in another process would, it does its work on threads of its own instead of queueing it behind the
    /// server's on the same loops. Lives as long as the process.
    static let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)

    /// Connects to `host:port`, runs `body` with the connection and closes it.
    static func with<T: Sendable>(
        host: String, port: Int, pinned: Bool = true, _ body: (inout BenchHTTPConnection) async throws -> T
    ) async throws -> T {
        let channel = try await ClientBootstrap(group: clientGroup)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        // Pinned to the connection's event loop, as the server's connections are: a request is signed, written,
        // and its answer read on the thread that does the connection's I/O.
        func run() async throws -> T {
            try await channel.executeThenClose { inbound, outbound in
                var connection = BenchHTTPConnection(
                    inbound: inbound.makeAsyncIterator(), outbound: outbound, eventLoop: channel.channel.eventLoop)
                return try await body(&connection)
            }
        }
        guard pinned else { return try await run() }
        return try await EventLoopTaskExecutor.pinned(to: channel.channel.eventLoop) { try await run() }
    }

    /// Waits until `instant` on a timer of the connection's event loop (`Task.sleep` would go through Dispatch's
    /// timer thread and back: two thread wake-ups per request the open-loop bench paces).
    func sleep(until instant: ContinuousClock.Instant) async throws {
        let left = ContinuousClock.now.duration(to: instant)
        guard left > .zero else { return }
        let nanoseconds = left.components.seconds * 1_000_000_000 + left.components.attoseconds / 1_000_000_000
        try await eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {}.futureResult.get()
    }

    /// POSTs `body` to `path` with `headers`; returns the status and the whole response body.
    mutating func post(
        _ path: String, headers: [(name: String, value: String)], body: [UInt8]
    ) async throws -> (status: Int, body: [UInt8]) {
        var fields = HTTPHeaders(headers.map { ($0.name, $0.value) })
        fields.add(name: "content-length", value: String(body.count))
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: fields)
        try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)])
        var status = 0
        var received = ByteBuffer()
        while let part = try await inbound.next() {
            switch part {
            case .head(let response): status = Int(response.status.code)
            case .body(var chunk): received.writeBuffer(&chunk)
            case .end: return (status, Array(buffer: received))
            }
        }
        throw BenchError.verificationFailed("the SQS endpoint closed the connection mid-response")
    }
}
