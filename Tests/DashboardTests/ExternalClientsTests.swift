import Dashboard
import Primitives
import XCTest

/// With the SQS endpoint on, the queue pane's foot shows the external clients: address, open connections,
/// errors, and requests per second by action, busiest first; without it, nothing of the kind.
final class ExternalClientsTests: XCTestCase {
    private func screen(_ external: ExternalClients?) -> String {
        var snapshot = Fixture.snapshot
        snapshot.queue.external = external
        return Fixture.render(Fixture.model(width: 120, height: 40), width: 120, height: 40, snapshot: snapshot).text()
    }

    func testTheQueuePaneShowsWhatExternalClientsDo() {
        let clients = ExternalClients(
            address: "127.0.0.1:9324", openConnections: 3,
            rates: [.init(action: "SendMessageBatch", perSecond: 210), .init(action: "ReceiveMessage", perSecond: 4.25)],
            errorsPerSecond: 0.5, errors: 17, commonestError: "QueueDoesNotExist")
        let text = screen(clients)
        let lines = text.split(separator: "\n")
        let first = lines.first { $0.contains("SQS 127.0.0.1:9324") }
        XCTAssertNotNil(first, text)
        XCTAssertTrue(first?.contains("conn 3") == true && first?.contains("errors 0.5/s (17 total)") == true, String(first ?? ""))
        let second = lines.first { $0.contains("SendMessageBatch 210/s") }
        XCTAssertTrue(second?.contains("ReceiveMessage 4.3/s") == true, String(second ?? ""))
        XCTAssertFalse(screen(nil).contains("SQS 127.0.0.1"), "no endpoint, no SQS lines")
    }
}
