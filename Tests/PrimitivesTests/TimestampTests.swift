import Primitives
import XCTest

final class TimestampTests: XCTestCase {
    func testAddingADurationMovesByWholeMilliseconds() {
        let start = Timestamp(millisecondsSinceEpoch: 1_000)
        XCTAssertEqual(start + .seconds(2), Timestamp(millisecondsSinceEpoch: 3_000))
        XCTAssertEqual(start + .milliseconds(1), Timestamp(millisecondsSinceEpoch: 1_001))
        XCTAssertEqual(start + .microseconds(999), start, "sub-millisecond parts are truncated")
        XCTAssertEqual(start + .milliseconds(-250), Timestamp(millisecondsSinceEpoch: 750))
    }

    func testDifferenceIsADuration() {
        let a = Timestamp(millisecondsSinceEpoch: 5_500)
        let b = Timestamp(millisecondsSinceEpoch: 2_000)
        XCTAssertEqual(a - b, .milliseconds(3_500))
        XCTAssertEqual(b - a, .milliseconds(-3_500))
        XCTAssertLessThan(b, a)
    }

    func testWholeMillisecondsTruncatesTowardZero() {
        XCTAssertEqual(Duration.seconds(24 * 60 * 60).wholeMilliseconds, 86_400_000)
        XCTAssertEqual(Duration.nanoseconds(1_999_999).wholeMilliseconds, 1)
        XCTAssertEqual(Duration.nanoseconds(-1_999_999).wholeMilliseconds, -1)
        XCTAssertEqual(Duration.milliseconds(-1_500).wholeMilliseconds, -1_500)
    }
}
