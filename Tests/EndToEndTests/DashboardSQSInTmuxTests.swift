import Foundation
import Primitives
import TestKit
import XCTest

/// The dashboard's `--sqs` endpoint as an SQS client sees it, in tmux: the AWS CLI makes a queue and sends to it
/// while the dashboard runs, the queue pane counts the requests, and after the dashboard quits the queue commands
/// find the message where the store keeps it: in the data directory's replicas, or (`--store postgres`) on the
/// server beside the engine's credit queue. Skipped where tmux or the AWS CLI is missing (`.ci/run` installs them).
final class DashboardSQSInTmuxTests: XCTestCase {
    func testTheDashboardsSQSEndpointServesTheSQLiteQueue() async throws {
        let data = try TemporaryDirectory(prefix: "hongbao-dashsqs")
        defer { data.remove() }
        try await clientReachesTheDashboardsEndpoint(data: data.path, store: [])
    }

    func testTheDashboardsSQSEndpointServesTheQueuesOnPostgreSQL() async throws {
        let data = try TemporaryDirectory(prefix: "hongbao-dashsqs-pg")
        defer { data.remove() }
        try await clientReachesTheDashboardsEndpoint(data: data.path, store: try await QueueCrashTests.postgres(self))
    }

    private func clientReachesTheDashboardsEndpoint(data: String, store: [String]) async throws {
        guard TmuxSession.isAvailable else { throw XCTSkip("needs tmux") }
        guard SQSConformanceTests.run("aws", ["--version"]).status == 0 else {
            throw XCTSkip("needs the AWS CLI (.ci/run installs awscli)")
        }
        let binary = try HongbaoBinary()
        let held = try HeldPort()
        let port = held.port
        held.release()
        let arguments = ["--data", data, "--sqs", "\(port)", "--demo-accounts", "50"] + store
        let line = ([binary.url.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let session = try TmuxSession(command: line, width: 120, height: 40)
        defer { session.close() }
        _ = try session.waitFor("SQS 127.0.0.1:\(port)", seconds: 60)

        let environment = [
            "AWS_SHARED_CREDENTIALS_FILE": data + "/sqs-credentials", "AWS_PROFILE": "hongbao", "AWS_DEFAULT_REGION": "us-east-1",
        ]
        func aws(_ arguments: [String]) -> (status: Int32, output: String) {
            SQSConformanceTests.run("env", ["-u", "AWS_ACCESS_KEY_ID", "-u", "AWS_SECRET_ACCESS_KEY", "aws", "sqs",
                                            "--endpoint-url", "http://127.0.0.1:\(port)"] + arguments, environment: environment)
        }
        let created = aws(["create-queue", "--queue-name", "demo"])
        XCTAssertEqual(created.status, 0, created.output)
        let sent = aws(["send-message", "--queue-url", "http://127.0.0.1:\(port)/123456789012/demo",
                        "--message-body", "through the dashboard"])
        XCTAssertEqual(sent.status, 0, sent.output)
        _ = try session.waitFor("SendMessage", seconds: 15)
        try session.send("q")
        await waitUntil("the dashboard to quit", timeout: .seconds(30), interval: .milliseconds(100)) {
            (try? session.alternateScreenOn()) == false
        }
        let peek = try binary.run(["queue", "peek", "demo", "--data", data] + store)
        XCTAssertEqual(peek.status, 0, peek.stderr)
        XCTAssertTrue(peek.stdout.hasSuffix("\t0\tthrough the dashboard\n"), peek.stdout)
    }
}
