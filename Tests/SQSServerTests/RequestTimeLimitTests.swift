import Foundation
import MessageQueue
@testable import SQSServer
import TestKit
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The request-time limit over real HTTP: a request the server cannot finish in time, because the queue is slow
/// or because the client stops sending its body, is answered with RequestTimeout on time.
final class RequestTimeLimitTests: XCTestCase {
    /// A running server with a one-second request limit over `fixture`'s endpoint.
    private func withServer(
        _ fixture: EndpointFixture, pinned: Bool = true, _ body: (Int) async throws -> Void
    ) async throws {
        var configuration = SQSServerConfiguration(port: 0)
        configuration.requestTimeoutSeconds = 1
        configuration.pinsConnectionsToEventLoops = pinned
        let port = AsyncStream<Int>.makeStream()
        let application = SQSHTTPServer.application(endpoint: fixture.endpoint, configuration: configuration) {
            port.continuation.yield($0)
        }
        let server = Task { try await application.run() }
        var iterator = port.stream.makeAsyncIterator()
        guard let bound = await iterator.next() else { return XCTFail("the server did not start") }
        do {
            try await body(bound)
        } catch {
            XCTFail("\(error)")
        }
        server.cancel()
        _ = try? await server.value
    }

    func testASendTheQueueCannotFinishInTimeIsAnsweredWithRequestTimeout() async throws {
        let fixture = try EndpointFixture()
        fixture.now = Date()
        let url = await fixture.ok("CreateQueue", ["QueueName": "slow"])["QueueUrl"] as? String ?? ""
        for replica in ReplicaID.allCases { try await fixture.service.slowReplica(replica, latency: .seconds(3)) }
        try await withServer(fixture) { port in
            let connection = try RawConnection(port: port)
            let request = fixture.signed("SendMessage", body: Array(#"{"QueueUrl":"\#(url)","MessageBody":"late"}"#.utf8))
            try connection.send(RawConnection.bytes(of: request))
            let answer = try connection.readResponse()
            XCTAssertEqual(answer.status, 408, answer.body)
            XCTAssertTrue(answer.body.contains("RequestTimeout"), answer.body)
        }
        for replica in ReplicaID.allCases { try await fixture.service.slowReplica(replica, latency: .zero) }
        await fixture.close()
    }

    func testConnectionsOnTheirEventLoopsOrOnTheGlobalPoolAnswerAlike() async throws {
        let fixture = try EndpointFixture()
        fixture.now = Date()
        for pinned in [true, false] {
            try await withServer(fixture, pinned: pinned) { port in
                let connection = try RawConnection(port: port)
                let name = pinned ? "pinned" : "pool"
                try connection.send(RawConnection.bytes(of: fixture.signed("CreateQueue", body: Array(#"{"QueueName":"\#(name)"}"#.utf8))))
                let created = try connection.readResponse()
                XCTAssertEqual(created.status, 200, created.body)
                try connection.send(RawConnection.bytes(of: fixture.signed("ListQueues", body: Array("{}".utf8))))
                let listed = try connection.readResponse()
                XCTAssertEqual(listed.status, 200, listed.body)
                XCTAssertTrue(listed.body.contains("/\(name)\""), listed.body)
            }
        }
        let queues = await fixture.service.listQueues()
        XCTAssertEqual(queues, ["pinned", "pool"])
        await fixture.close()
    }

    func testABodyThatStopsArrivingIsAnsweredWithRequestTimeout() async throws {
        let fixture = try EndpointFixture()
        fixture.now = Date()
        try await withServer(fixture) { port in
            let connection = try RawConnection(port: port)
            let request = fixture.signed("ListQueues", body: Array(#"{"QueueNamePrefix":"nothing-here"}"#.utf8))
            let whole = RawConnection.bytes(of: request)
            // Everything but the body's last ten bytes; the rest never comes.
            try connection.send(Array(whole.dropLast(10)))
            let answer = try connection.readResponse()
            XCTAssertEqual(answer.status, 408, answer.body)
            XCTAssertTrue(answer.body.contains("RequestTimeout"), answer.body)
            let queues = await fixture.service.listQueues()
            XCTAssertEqual(queues, [], "nothing changed")
        }
        await fixture.close()
    }
}

/// A blocking loopback TCP connection that writes raw HTTP/1.1 and reads one response (tests only).
final class RawConnection {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket: \(errno)") }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw Failure(description: "connect: \(errno)") }
    }

    deinit { close(socket) }

    /// The request as an HTTP/1.1 message.
    static func bytes(of request: SignedRequest) -> [UInt8] {
        var head = "\(request.method) \(request.path) HTTP/1.1\r\n"
        for header in request.headers { head += "\(header.name): \(header.value)\r\n" }
        head += "Content-Length: \(request.body.count)\r\n\r\n"
        return Array(head.utf8) + request.body
    }

    func send(_ bytes: [UInt8]) throws {
        let sent = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw Failure(description: "send: \(sent) of \(bytes.count)") }
    }

    /// Reads one response (headers, then `Content-Length` bytes of body).
    func readResponse() throws -> (status: Int, body: String) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        func more() throws {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw Failure(description: "no answer (recv \(count), errno \(errno))") }
            received += buffer[0..<count]
        }
        let separator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            try more()
            headEnd = (0...max(0, received.count - separator.count)).first {
                received.count >= separator.count && Array(received[$0..<$0 + separator.count]) == separator
            }
        }
        let head = String(decoding: received[0..<headEnd!], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        let length = lines.compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
        }.first ?? 0
        let bodyStart = headEnd! + separator.count
        while received.count < bodyStart + length { try more() }
        return (status, String(decoding: received[bodyStart..<bodyStart + length], as: UTF8.self))
    }
}
