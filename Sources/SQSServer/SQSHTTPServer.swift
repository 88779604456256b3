import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

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

/// The SQS endpoint over HTTP/1.1 (Hummingbird). Every request goes to `SQSEndpoint.handle`.
public enum SQSHTTPServer {
    /// Builds the application; run it with `runService()` (stops on SIGINT/SIGTERM) or `run()`.
    public static func application(
        endpoint: SQSEndpoint, configuration: SQSServerConfiguration,
        onRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            await respond(to: request, endpoint: endpoint, configuration: configuration)
        }
        var http1 = HTTP1Channel.Configuration(idleTimeout: .seconds(configuration.idleTimeoutSeconds))
        http1.httpDecoder = .init(
            maxHeaderFieldSize: configuration.maxHeaderBytes, maxHeaderListSize: configuration.maxHeaderBytes,
            maxHeaderFieldCount: 100)
        var logger = Logger(label: "hongbao.sqs")
        logger.logLevel = .critical
        let traffic = endpoint.traffic
        let address = "\(configuration.host):\(configuration.port)"
        return Application(
            responder: responder,
            server: .http1(configuration: http1),
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

    static func respond(to request: Request, endpoint: SQSEndpoint, configuration: SQSServerConfiguration) async -> Response {
        let answer: SQSResponse = await withTaskGroup(of: SQSResponse?.self) { group in
            group.addTask {
                var request = request
                let body: ByteBuffer
                do {
                    body = try await request.collectBody(upTo: configuration.maxBodyBytes)
                } catch {
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
            group.addTask {
                try? await Task.sleep(for: .seconds(configuration.requestTimeoutSeconds))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            if let first { return first }
            endpoint.traffic.record(action: "(timeout)", errorCode: SQSError.requestTimeout.type)
            return SQSEndpoint.response(for: .requestTimeout)
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
