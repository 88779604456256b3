import Foundation
import SQSServer
import XCTest

/// The responses' JSON writer: exact bytes, keys sorted, every string escaped so that a JSON parser reads
/// back what was written.
final class JSONWriterTests: XCTestCase {
    func testNestedValuesAreWrittenExactlyWithSortedKeys() {
        let object: [String: Any] = [
            "b": [true, "x\"y\\z\n\t\r", 7] as [Any], "a": 1, "c": ["é": "中文 😀", "d": ""], "e": [["k": false]],
            "f": ["one", "two"], "g": Int64(-5),
        ]
        XCTAssertEqual(
            String(decoding: SQSJSONWriter.data(object), as: UTF8.self),
            #"{"a":1,"b":[true,"x\"y\\z\n\t\r",7],"c":{"d":"","é":"中文 😀"},"e":[{"k":false}],"f":["one","two"],"g":-5}"#)
    }

    func testEveryControlCharacterIsEscapedAndReadsBack() throws {
        let text = String((0..<0x80).map { Character(Unicode.Scalar(UInt8($0))) }) + "\u{2028}\u{7F}"
        let written = SQSJSONWriter.data(["body": text])
        XCTAssertFalse(written.contains { $0 < 0x20 }, "no raw control byte")
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(written)) as? [String: String])
        XCTAssertEqual(parsed["body"], text)
    }

    func testNumbersFromAParserKeepTheirKind() throws {
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(#"{"n": 1, "t": true, "d": 2.5}"#.utf8)) as? [String: Any])
        let again = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(SQSJSONWriter.data(parsed))) as? [String: Any])
        XCTAssertEqual(again["n"] as? Int, 1)
        XCTAssertEqual(again["t"] as? Bool, true)
        XCTAssertEqual(again["d"] as? Double, 2.5)
    }
}
