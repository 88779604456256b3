import Simulation
import Synchronization
import XCTest

final class ServiceStackTests: XCTestCase {
    /// Each service records when it starts and when it sees its cancellation; the body records when it
    /// ends. Stopping runs last-started first, and each service stops only after the next one has returned.
    func testServicesStopInReverseStartOrderEachAfterTheNextHasReturned() async throws {
        let log = Mutex<[String]>([])
        func service(_ name: String) -> ServiceStack.Service {
            {
                log.withLock { $0.append("start \(name)") }
                while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(1)) }
                log.withLock { $0.append("stop \(name)") }
            }
        }
        let value = try await ServiceStack.run([service("engine"), service("load"), service("scenario")]) {
            while log.withLock({ $0.count }) < 3 { try await Task.sleep(for: .milliseconds(1)) }
            log.withLock { $0.append("body done") }
            return 42
        }
        XCTAssertEqual(value, 42)
        XCTAssertEqual(log.withLock { $0 }.filter { $0.hasPrefix("stop") || $0 == "body done" },
                       ["body done", "stop scenario", "stop load", "stop engine"])
    }

    func testTheBodysErrorComesOutAfterEveryServiceHasStopped() async {
        struct Failure: Error {}
        let stopped = Mutex(0)
        let service: ServiceStack.Service = {
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(1)) }
            stopped.withLock { $0 += 1 }
        }
        do {
            _ = try await ServiceStack.run([service, service]) { () async throws -> Int in throw Failure() }
            XCTFail("the body's error must come out")
        } catch {
            XCTAssertTrue(error is Failure)
        }
        XCTAssertEqual(stopped.withLock { $0 }, 2)
    }
}
