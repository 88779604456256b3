import Foundation
@testable import SQSServer
import XCTest

final class RandomUUIDTests: XCTestCase {
    /// The ids read as Foundation's UUIDs, in lowercase, version 4 with RFC 4122's variant, and never repeat
    /// (20,000 of them span several refills of the random pool).
    func testIdsAreLowercaseVersion4UUIDsThatDoNotRepeat() {
        var seen = Set<String>()
        var nibbles = Set<Character>()
        for _ in 0..<20_000 {
            let id = RandomUUID.make()
            XCTAssertEqual(UUID(uuidString: id)?.uuidString.lowercased(), id)
            let characters = Array(id)
            XCTAssertEqual(characters.count, 36)
            XCTAssertEqual(characters[14], "4", id)
            XCTAssertTrue("89ab".contains(characters[19]), id)
            nibbles.formUnion(characters)
            XCTAssertTrue(seen.insert(id).inserted, "\(id) repeated")
        }
        XCTAssertEqual(nibbles, Set("0123456789abcdef-"), "every hex digit shows up, in lowercase")
    }

    /// Message ids: version 7 UUIDs with RFC 9562's variant, each after the one before (also thousands within one
    /// millisecond, past the 12-bit counter), distinct, and led by the millisecond they were made in.
    func testTimeOrderedIdsAreVersion7UUIDsEachAfterTheLast() {
        var previous = ""
        var seen = Set<String>()
        let start = RandomUUID.currentMilliseconds()
        for index in 0..<20_000 {
            // Half of them in one millisecond, as a burst would make them.
            let id = index < 10_000 ? RandomUUID.makeTimeOrdered(now: start) : RandomUUID.makeTimeOrdered()
            XCTAssertEqual(UUID(uuidString: id)?.uuidString.lowercased(), id)
            let characters = Array(id)
            XCTAssertEqual(characters[14], "7", id)
            XCTAssertTrue("89ab".contains(characters[19]), id)
            XCTAssertLessThan(previous, id, "ids sort in the order they were made")
            XCTAssertTrue(seen.insert(id).inserted, "\(id) repeated")
            previous = id
        }
        let made = RandomUUID.makeTimeOrdered()
        let milliseconds = UInt64(String(made.prefix(8)) + String(made.dropFirst(9).prefix(4)), radix: 16)
        let now = RandomUUID.currentMilliseconds()
        XCTAssertNotNil(milliseconds)
        // The burst borrowed at most three milliseconds ahead (10,000 ids at 4,096 a millisecond).
        XCTAssertTrue((start...(max(now, start + 3))).contains(milliseconds ?? 0), "\(made) made at \(now)")
    }

    func testTheTextIsTheUUIDOfItsBits() {
        XCTAssertEqual(RandomUUID.format(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210),
                       "01234567-89ab-cdef-fedc-ba9876543210")
        XCTAssertEqual(RandomUUID.format(high: 0, low: 0), "00000000-0000-0000-0000-000000000000")
    }
}
