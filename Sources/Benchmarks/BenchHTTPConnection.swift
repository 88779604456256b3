import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection over SwiftNIO (already built for the server), one request at a time:
/// the bench's client for the SQS endpoint. Foundation's URLSession on Linux (libcurl underneath) costs more
/// per request than the server it measures; async-http-client would bring TLS and HTTP/2 into every build.
struct BenchHTTPConnection {
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>

    /// Connects to `host:port`, runs `body` with the connection and closes it.
    static func with<T: Sendable>(
        host: String, port: Int, _ body: (inout BenchHTTPConnection) async throws -> T
    ) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = BenchHTTPConnection(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(&connection)
        }
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
