import ArgumentParser
import Foundation
import MessageQueue

/// Hidden `hongbao bench-queue`: the queue's throughput with three replicas and with one, a raw SQLite
/// baseline, and send latency at half the three-replica throughput, all in one run. Use a release build.
struct QueueBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-queue", shouldDisplay: false)
    @Option(help: "Messages per throughput run.") var messages = 100_000
    @Option(help: "Concurrent clients.") var workers = 16
    @Option(help: "Seconds of the latency run.") var latencySeconds = 5
    @Option(help: "Offered send rate of the latency run (default: half the three-replica throughput).") var rate: Int?
    @Option(help: "Where to put the scratch databases (default: the temporary directory).") var scratch: String?

    func run() async throws {
        let base = (scratch ?? FileManager.default.temporaryDirectory.path) + "/hongbao-bench-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: base) }
        do {
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
            let three = try await QueueBenchmark.fullCycle(
                name: "queue, 3 replicas, quorum 2", root: base + "/three", replicaIDs: ReplicaID.allCases,
                messages: messages, workers: workers)
            report(three)
            let one = try await QueueBenchmark.fullCycle(
                name: "queue, 1 replica", root: base + "/one", replicaIDs: [.a], messages: messages, workers: workers)
            report(one)
            let raw = try QueueBenchmark.sqliteBaseline(path: base + "/raw.sqlite", messages: messages)
            report(raw)
            let rate = self.rate ?? Int(three.messagesPerSecond / 2)
            let latency = try await QueueBenchmark.sendLatency(root: base + "/latency", rate: rate, seconds: latencySeconds)
            print(String(
                format: "send latency at %d/s offered (3 replicas): %d sends, %d failed, p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                latency.offeredPerSecond, latency.sends, latency.failures, latency.p50Milliseconds,
                latency.p99Milliseconds, latency.maxMilliseconds))
        } catch {
            throw UserError(error)
        }
    }

    private func report(_ result: QueueBenchmark.Throughput) {
        print(String(
            format: "%-30@ %8d msgs in %6.2f s = %9.0f msgs/s (send→receive→delete, batches of 16)",
            result.name as NSString, result.messages, result.seconds, result.messagesPerSecond))
    }
}
