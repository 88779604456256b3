@testable import MessageQueue
import PostgresCluster
import PostgresStores
import Primitives
import Synchronization
import TestKit
import XCTest

/// The queues kept on PostgreSQL through a failover: the primary of a three-server cluster killed while senders
/// and a consumer work (`LocalCluster.failover` promotes the standby with the most WAL). The pool, given the
/// three servers, finds the new primary; nothing acknowledged is lost, no acknowledged delete is undone, and the
/// state held in memory is the state on the new primary.
final class QueueJournalFailoverTests: XCTestCase {
    /// What the senders and the consumer were told.
    final class Seen: Sendable {
        let acknowledged = Mutex<[String]>([])
        let deleted = Mutex<[String]>([])
        let received = Mutex<Set<String>>([])
        let failures = Atomic<Int>(0)
    }

    func testAPrimaryKilledUnderSendsAndDeletesLosesNothingAcknowledged() async throws {
        let server = try await TestPostgres.start(self, standbys: 2)
        let logins = ["b", "c", "a"].map { server.settings.settings(for: $0) }
        var listed = PostgresSettings(host: logins[0].host, port: logins[0].port, user: logins[0].user,
                                      password: logins[0].password, database: logins[0].database)
        listed.servers = logins.map { PostgresSettings.Server(host: $0.host, port: $0.port) }
        let pool = PostgresPool(settings: try await PostgresPool.writableServer(of: listed), maxConnections: 8)
        let follower = Task { await pool.followPrimary(nil) }
        let queue = try await MessageQueueService.open(journal: try await PostgresQueueJournal(pool: pool), checkBackTimer: false)
        try await queue.createQueue("work")

        let seen = Seen()
        let stop = AsyncFlag()
        let senders = (0..<3).map { client in
            Task {
                var next = 0
                while !stop.hasFired {
                    let id = "s\(client)-\(next)"
                    do {
                        _ = try await queue.send("work", body: "message \(id)", id: id)
                        seen.acknowledged.withLock { $0.append(id) }
                        next += 1
                    } catch {
                        // The same id again: a send that went in is not stored twice.
                        seen.failures.add(1, ordering: .relaxed)
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                }
            }
        }
        let consumer = Task {
            while !stop.hasFired {
                do {
                    let messages = try await queue.receiveBatch("work", maxCount: 10, visibilityTimeout: .seconds(1))
                    seen.received.withLock { $0.formUnion(messages.map(\.id)) }
                    guard !messages.isEmpty else { continue }
                    try await queue.deleteBatch("work", receipts: messages.map(\.receipt))
                    seen.deleted.withLock { $0 += messages.map(\.id) }
                } catch {
                    seen.failures.add(1, ordering: .relaxed)
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
        }
        await waitUntil("sends before the failover", timeout: .seconds(60), interval: .milliseconds(20)) {
            seen.acknowledged.withLock { $0.count } >= 200
        }
        let result = try await server.cluster.failover()
        XCTAssertEqual(result.oldPrimary, "a")
        await waitUntil("the pool on the new primary", timeout: .seconds(60), interval: .milliseconds(20)) {
            pool.settings.port == server.primary.port
        }
        let atFailover = seen.acknowledged.withLock { $0.count }
        await waitUntil("sends on the new primary", timeout: .seconds(60), interval: .milliseconds(20)) {
            seen.acknowledged.withLock { $0.count } >= atFailover + 200
        }
        stop.fire()
        for sender in senders { await sender.value }
        await consumer.value
        print("failover under the journal: \(seen.acknowledged.withLock { $0.count }) sends and \(seen.deleted.withLock { $0.count }) deletes acknowledged, \(seen.failures.load(ordering: .relaxed)) verbs failed and tried again")

        let problems = await queue.replicaDisagreements()
        XCTAssertEqual(problems, [], "memory and the new primary's tables agree")
        await queue.close()
        let reader = try await MessageQueueService.open(journal: try await PostgresQueueJournal(pool: pool, create: false),
                                                        checkBackTimer: false)
        let stored = try await reader.peek("work", count: 100_000).map(\.id)
        await reader.close()
        follower.cancel()
        await pool.close()
        XCTAssertEqual(stored.count, Set(stored).count, "no id stored twice")
        let missing = Set(seen.acknowledged.withLock { $0 }).subtracting(stored).subtracting(seen.received.withLock { $0 })
        XCTAssertEqual(missing, [], "acknowledged sends lost")
        XCTAssertEqual(Set(seen.deleted.withLock { $0 }).intersection(stored), [], "acknowledged deletes undone")
    }
}
