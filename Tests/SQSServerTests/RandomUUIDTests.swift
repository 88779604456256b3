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

    func testTheTextIsTheUUIDOfItsBits() {
        XCTAssertEqual(RandomUUID.format(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210),
                       "01234567-89ab-cdef-fedc-ba9876543210")
        XCTAssertEqual(RandomUUID.format(high: 0, low: 0), "00000000-0000-0000-0000-000000000000")
    }
}
