import Foundation
import Primitives
import XCTest

/// `hongbao serve` as real SQS clients see it: moto's own SQS test suite (from moto's source distribution)
/// run against it with boto3, and the README's AWS CLI and boto3 commands. Skipped, with the reason
/// printed, where python3, boto3, moto, pytest or the AWS CLI are missing (`.ci/run` installs them).
final class SQSConformanceTests: XCTestCase {
    /// The repository root (this file is Tests/EndToEndTests/SQSConformanceTests.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A running `hongbao serve` on a free loopback port.
    final class Server {
        let process: Process
        let port: Int
        let data: String
        var url: String { "http://127.0.0.1:\(port)" }

        /// `store`: more arguments (`--store postgres --postgres URL`: the queues on that server).
        init(data: String, store: [String] = []) throws {
            self.data = data
            let binary = try HongbaoBinary()
            let out = Pipe()
            process = Process()
            process.executableURL = binary.url
            process.arguments = ["serve", "--data", data, "--port", "0"] + store
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            var text = ""
            let handle = out.fileHandleForReading
            var found: Int?
            while found == nil {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
                if let range = text.range(of: #"listening on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                    found = Int(text[range].split(separator: ":").last ?? "")
                }
            }
            guard let found else {
                process.terminate()
                throw XCTSkip("hongbao serve did not start: \(text)")
            }
            port = found
        }

        /// Stops the server; returns whether it was still running (it never crashed) and exited cleanly.
        func stop() -> (wasRunning: Bool, status: Int32) {
            let running = process.isRunning
            process.terminate()
            process.waitUntilExit()
            return (running, process.terminationStatus)
        }
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func temporaryDirectory() throws -> String {
        let path = ScratchRoot.path() + "/hongbao-sqs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func requirePython(_ modules: [String]) throws {
        let check = Self.run("python3", ["-c", "import " + modules.joined(separator: ", ")])
        guard check.status == 0 else {
            throw XCTSkip("needs python3 with \(modules.joined(separator: ", ")) (.ci/run installs them): \(check.output.suffix(200))")
        }
    }

    /// The directory holding moto's `tests/test_sqs`: `HONGBAO_MOTO_SOURCE`, else the source distribution of
    /// the installed moto unpacked under .build/moto-source (fetched with pip if it is not there yet).
    func motoSource() throws -> String {
        if let given = ProcessInfo.processInfo.environment["HONGBAO_MOTO_SOURCE"] { return given }
        let version = Self.run("python3", ["-c", "import moto; print(moto.__version__)"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let cache = Self.root.appendingPathComponent(".build/moto-source").path
        let unpacked = cache + "/moto-\(version)"
        if FileManager.default.fileExists(atPath: unpacked + "/tests/test_sqs") { return unpacked }
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let download = Self.run("python3", ["-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
                                            "moto==\(version)", "-d", cache])
        let archive = cache + "/moto-\(version).tar.gz"
        guard download.status == 0, FileManager.default.fileExists(atPath: archive) else {
            throw XCTSkip("moto's source distribution could not be fetched: \(download.output.suffix(300))")
        }
        let untar = Self.run("tar", ["xzf", archive, "-C", cache])
        guard untar.status == 0, FileManager.default.fileExists(atPath: unpacked + "/tests/test_sqs") else {
            throw XCTSkip("moto's source distribution has no tests/test_sqs: \(untar.output.suffix(300))")
        }
        return unpacked
    }

    /// The excluded cases (`path::name  # reason`), each with a reason.
    static func excluded() throws -> [(id: String, reason: String)] {
        let text = try String(contentsOf: root.appendingPathComponent("Conformance/moto-sqs-excluded.txt"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return nil }
            let parts = trimmed.components(separatedBy: "#")
            return (parts[0].trimmingCharacters(in: .whitespaces), parts.dropFirst().joined(separator: "#").trimmingCharacters(in: .whitespaces))
        }
    }

    func testMotoSQSSuitePassesAgainstHongbaoServe() throws {
        try motoSuitePasses()
    }

    /// The same suite against `hongbao serve --store postgres`: the queues kept on a throwaway PostgreSQL server.
    func testMotoSQSSuitePassesAgainstHongbaoServeOnPostgreSQL() async throws {
        try requirePython(["boto3", "moto", "pytest", "freezegun"])
        let store = try await QueueCrashTests.postgres(self)
        try motoSuitePasses(store: store)
    }

    private func motoSuitePasses(store: [String] = []) throws {
        try requirePython(["boto3", "moto", "pytest", "freezegun"])
        let source = try motoSource()
        let data = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        // moto's tests sign with its fixed test credentials; the endpoint is given exactly those.
        let credentials = "[hongbao]\naws_access_key_id = FOOBARKEY\naws_secret_access_key = FOOBARSECRET\n"
        _ = FileManager.default.createFile(atPath: data + "/sqs-credentials", contents: Data(credentials.utf8), attributes: [.posixPermissions: 0o600])
        let server = try Server(data: data, store: store)
        let excluded = try Self.excluded()
        XCTAssertTrue(excluded.allSatisfy { !$0.reason.isEmpty }, "every excluded case says why")
        let report = data + "/moto-junit.xml"
        var arguments = ["-m", "pytest", "tests/test_sqs", "-p", "no:cacheprovider", "-q", "--junitxml", report]
        for (id, _) in excluded {
            arguments += id.hasSuffix(".py") ? ["--ignore", id] : ["--deselect", id]
        }
        let started = Date()
        let result = Self.run("python3", arguments, environment: [
            "TEST_SERVER_MODE": "true", "TEST_SERVER_MODE_ENDPOINT": server.url, "MOTO_CALL_RESET_API": "false",
            "AWS_ACCESS_KEY_ID": "FOOBARKEY", "AWS_SECRET_ACCESS_KEY": "FOOBARSECRET", "AWS_DEFAULT_REGION": "us-east-1",
        ], directory: source)
        let seconds = Date().timeIntervalSince(started)
        let (wasRunning, status) = server.stop()
        XCTAssertTrue(wasRunning, "hongbao serve crashed during moto's suite")
        XCTAssertEqual(status, 0, "hongbao serve did not exit cleanly on SIGTERM")
        let xml = (try? String(contentsOfFile: report, encoding: .utf8)) ?? ""
        func count(_ name: String) -> Int {
            guard let range = xml.range(of: "\(name)=\"(\\d+)\"", options: .regularExpression) else { return 0 }
            return Int(xml[range].split(separator: "\"")[1]) ?? 0
        }
        let total = count("tests"), failures = count("failures"), errors = count("errors"), skipped = count("skipped")
        let failed = failures + errors
        let passed = total - failed - skipped
        var failedNames: [String] = []
        for testcase in xml.components(separatedBy: "<testcase ").dropFirst() {
            guard testcase.contains("<failure") || testcase.contains("<error") else { continue }
            let head = String(testcase.prefix { $0 != ">" })
            if let range = head.range(of: #" name="[^"]+""#, options: .regularExpression) {
                failedNames.append(String(head[range]))
            }
        }
        print("moto SQS conformance (moto's tests/test_sqs against hongbao serve\(store.isEmpty ? "" : " on PostgreSQL"), \(Int(seconds)) s): passed \(passed), failed \(failed), skipped \(skipped), excluded \(excluded.count) (Conformance/moto-sqs-excluded.txt)")
        for name in failedNames { print("  failed: \(name)") }
        XCTAssertGreaterThan(total, 0, "pytest ran no case: \(result.output.suffix(2_000))")
        let applicable = passed + failed
        XCTAssertGreaterThanOrEqual(Double(passed), 0.95 * Double(applicable), "fewer than 95 % of moto's applicable SQS cases pass")
    }

    func testTheReadmesAWSCLIAndBoto3CommandsWork() throws {
        let cli = Self.run("aws", ["--version"])
        guard cli.status == 0 else { throw XCTSkip("needs the AWS CLI (.ci/run installs awscli): \(cli.output.suffix(200))") }
        try requirePython(["boto3"])
        let data = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try Server(data: data)
        let attributes = try FileManager.default.attributesOfItem(atPath: data + "/sqs-credentials")
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600, "credentials are the owner's only")
        let environment = [
            "AWS_SHARED_CREDENTIALS_FILE": data + "/sqs-credentials", "AWS_PROFILE": "hongbao", "AWS_DEFAULT_REGION": "us-east-1",
        ]
        func aws(_ arguments: [String]) -> (status: Int32, output: String) {
            Self.run("env", ["-u", "AWS_ACCESS_KEY_ID", "-u", "AWS_SECRET_ACCESS_KEY", "aws", "sqs", "--endpoint-url", server.url] + arguments, environment: environment)
        }
        let created = aws(["create-queue", "--queue-name", "demo"])
        XCTAssertEqual(created.status, 0, created.output)
        XCTAssertTrue(created.output.contains("\(server.url)/123456789012/demo"), created.output)
        let queueURL = "\(server.url)/123456789012/demo"
        let sent = aws(["send-message", "--queue-url", queueURL, "--message-body", "hello from the AWS CLI"])
        XCTAssertEqual(sent.status, 0, sent.output)
        let script = """
            import boto3
            sqs = boto3.client("sqs", endpoint_url="\(server.url)")
            url = sqs.get_queue_url(QueueName="demo")["QueueUrl"]
            for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []):
                print(m["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            """
        let received = Self.run("env", ["-u", "AWS_ACCESS_KEY_ID", "-u", "AWS_SECRET_ACCESS_KEY", "python3", "-c", script], environment: environment)
        XCTAssertEqual(received.status, 0, received.output)
        XCTAssertEqual(received.output.trimmingCharacters(in: .whitespacesAndNewlines), "hello from the AWS CLI")
        let wrong = Self.run("env", ["-u", "AWS_PROFILE", "aws", "sqs", "--endpoint-url", server.url, "list-queues"], environment: [
            "AWS_ACCESS_KEY_ID": "AKIDWRONG", "AWS_SECRET_ACCESS_KEY": "nope", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        ])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.output.contains("InvalidClientTokenId"), wrong.output)
        let (wasRunning, status) = server.stop()
        XCTAssertTrue(wasRunning)
        XCTAssertEqual(status, 0)
    }
}
