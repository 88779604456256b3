import ArgumentParser
import Engine
import Foundation
import MessageQueue
import PostgresStores
import Primitives
import SQSServer
import Synchronization

/// `hongbao serve`: the queue of the data directory over Amazon SQS's protocol, for boto3, the AWS CLI and
/// any SQS SDK. Every message is on two of the three replicas before the response, as through the CLI. With
/// `--store postgres` the queues are kept on the server (`PostgresQueueJournal`), each commit on as many servers
/// as its synchronous standbys make; the credentials stay in the data directory.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the queue over the Amazon SQS protocol (AWS JSON 1.0, Signature V4): the three-copy queue, or the server's with --store postgres.")

    @OptionGroup var data: DataOptions
    @Option(help: "Address to listen on (default 127.0.0.1; anything else exposes the queue to the network).")
    var host = "127.0.0.1"
    @Option(help: "Port (0 picks a free one and prints it).") var port = 9324
    @Option(help: "Most open connections; more wait until one closes.") var maxConnections = 512

    func run() async throws {
        guard (0...65535).contains(port) else { throw UserError(message: "--port must be 0…65535", exitCode: 2) }
        guard maxConnections >= 1 else { throw UserError(message: "--max-connections must be at least 1", exitCode: 2) }
        if data.store == .postgres { return try await runOnPostgres() }
        let directory = try data.open()
        let service: MessageQueueService
        do {
            service = try MessageQueueService.open(root: directory.queuePath, limits: SQSLimits.queueLimits())
        } catch {
            throw UserError(error)
        }
        try await serve(service, credentialsIn: directory.path, queue: "three copies, acknowledged at two")
    }

    /// The queues kept on the PostgreSQL server, served until stopped; the pool closed after.
    private func runOnPostgres() async throws {
        let settings = try data.postgresSettings()
        let directory: String
        do {
            directory = try DataDirectory.resolvePath(explicit: data.data)
            try DirectoryMaker.make(directory)
        } catch {
            throw UserError(error)
        }
        let databases = try await userErrors {
            try await PostgresDatabases.locate(try await PostgresPool.writableServer(of: settings), create: true)
        }
        let pool = PostgresPool(settings: databases.queue, maxConnections: 8)
        let follower = Task { [primary = data.clusterPrimary(directory)] in await pool.followPrimary(primary) }
        defer { follower.cancel() }
        do {
            // One serving process at a time: a second is refused here, naming the first.
            let queues = try await ServedQueues.open(pool: pool, limits: SQSLimits.queueLimits())
            do {
                let durability = try await pool.commitDurability()
                try await serve(queues.service, credentialsIn: directory,
                                queue: "\(queues.journal.location), each commit on \(durability.lowercased())")
            } catch {
                await queues.close()
                throw error
            }
            await queues.close()
        } catch {
            await pool.close()
            throw error as? UserError ?? UserError(error)
        }
        await pool.close()
    }

    /// Serves `service` until stopped, then closes it.
    private func serve(_ service: MessageQueueService, credentialsIn directory: String, queue: String) async throws {
        let credentials: SQSCredentials
        let created: Bool
        do {
            (credentials, created) = try CredentialsFile.loadOrCreate(in: directory)
        } catch {
            await service.close()
            throw UserError(message: error.description, exitCode: 2)
        }
        let endpoint = SQSEndpoint(service: service, credentials: credentials)
        var configuration = SQSServerConfiguration(host: host, port: port)
        configuration.maxConnections = maxConnections
        let credentialsPath = directory + "/" + CredentialsFile.fileName
        let listening = Mutex(false)
        let application = SQSHTTPServer.application(endpoint: endpoint, configuration: configuration) { port in
            listening.withLock { $0 = true }
            ServeCommand.printBanner(host: host, port: port, credentialsPath: credentialsPath, created: created, queue: queue)
        }
        // Retention (and the rewind window of deleted messages kept for rewinding) is enforced on the way as
        // messages are received; this purges what nobody receives.
        let housekeeping = Task { await endpoint.purgeExpiredPeriodically() }
        do {
            try await application.runService()
        } catch {
            housekeeping.cancel()
            await housekeeping.value
            await service.close()
            let what = listening.withLock { $0 } ? "SQS endpoint on \(host):\(port) stopped" : "cannot listen on \(host):\(port)"
            throw UserError(message: "\(what): \(SQSHTTPServer.reason(error))", exitCode: 4)
        }
        housekeeping.cancel()
        await housekeeping.value
        await service.close()
    }

    static func printBanner(host: String, port: Int, credentialsPath: String, created: Bool, queue: String) {
        let url = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        let lines = [
            "SQS endpoint listening on \(url) (queue: \(queue))",
            "credentials: \(credentialsPath) (mode 0600\(created ? ", created now" : ""), profile \(CredentialsFile.profile))",
            "  export AWS_SHARED_CREDENTIALS_FILE=\(credentialsPath) AWS_PROFILE=\(CredentialsFile.profile) AWS_DEFAULT_REGION=us-east-1",
            "  aws sqs --endpoint-url \(url) create-queue --queue-name demo",
            "  boto3.client(\"sqs\", endpoint_url=\"\(url)\")   # with the same environment",
            "stop with Ctrl-C",
        ]
        print(lines.joined(separator: "\n"))
        fflush(nil)  // the banner reaches a pipe at once (tests read the port from it)
    }
}
