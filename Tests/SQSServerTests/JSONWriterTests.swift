import Foundation
@testable import SQSServer
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

    /// Containers of every static type the endpoint builds, and the same values as a parser gives them (whose
    /// types differ), are written to the same bytes: the exact-type shortcuts change nothing.
    func testAValueIsWrittenTheSameWhateverTypeItsContainersHave() throws {
        let typed: [String: Any] = [
            "strings": ["Id": "e1", "MessageBody": "红包 \"q\" \\ \n", "Empty": ""] as [String: String],
            "anyStrings": ["Id": "e2", "MessageBody": "x"] as [String: Any],
            "list": ["a", "ü", ""] as [String], "objects": [["k": "v"], ["n": 12_345_678_901_234]] as [[String: Any]],
            "mixed": ["s", 1, false, ["in": ["deep"]]] as [Any], "empty": [:] as [String: Any], "none": [] as [Any],
            "big": Int64.max, "negative": -1,
        ]
        let written = SQSJSONWriter.data(typed)
        XCTAssertEqual(
            String(decoding: written, as: UTF8.self),
            #"{"anyStrings":{"Id":"e2","MessageBody":"x"},"big":9223372036854775807,"empty":{},"list":["a","ü",""],"mixed":["s",1,false,{"in":["deep"]}],"negative":-1,"none":[],"objects":[{"k":"v"},{"n":12345678901234}],"strings":{"Empty":"","Id":"e1","MessageBody":"红包 \"q\" \\ \n"}}"#)
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(written)) as? [String: Any])
        XCTAssertEqual(SQSJSONWriter.data(parsed), written, "the parser's types write the same bytes")
    }
}

extension JSONWriterTests {
    /// Strings are copied in runs between the bytes that need escaping: the bytes are those of the byte-by-byte
    /// writer this replaced (kept here), for random strings of escapes, control characters, unicode and plain text.
    func testStringsAreWrittenAsTheByteByByteWriterWroteThem() {
        func reference(_ text: String) -> [UInt8] {
            let hex = Array("0123456789abcdef".utf8)
            var out: [UInt8] = [UInt8(ascii: "\"")]
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
                default: out.append(byte)
                }
            }
            return out + [UInt8(ascii: "\"")]
        }
        let pieces = ["", "a", "\"", "\\", "\n", "\r\n", "\t", "\u{0}", "\u{1F}", "\u{7F}", "é", "红包", "😀", "\u{2028}", "e\u{301}",
                      String(repeating: "m", count: 256), "\\\"", "/"]
        var generator = SystemRandomNumberGenerator()
        var texts = pieces + ["\"" + String(repeating: "x", count: 300) + "\\", "end\""]
        for _ in 0..<2_000 {
            texts.append((0..<Int.random(in: 0...12, using: &generator)).map { _ in pieces.randomElement(using: &generator) ?? "" }.joined())
        }
        for text in texts {
            var written: [UInt8] = []
            SQSJSONWriter.writeString(text, to: &written)
            XCTAssertEqual(written, reference(text), text.debugDescription)
        }
        // A substring's bytes (not contiguous native storage until copied) are written the same.
        let sliced = String("xx\"红包\\yy".dropFirst())
        var written: [UInt8] = []
        SQSJSONWriter.writeString(sliced, to: &written)
        XCTAssertEqual(written, reference(sliced))
    }
}

/// Request parameters: JSON's null counts as absent, any other value (lists and maps included) as present.
final class RequestParametersTests: XCTestCase {
    func testNullIsAbsentAndListsAndMapsArePresent() throws {
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(#"{"n": null, "l": [1, "a", null], "m": {"k": null}, "s": "", "z": 0, "f": false}"#.utf8)) as? [String: Any])
        for source in [parsed, ["n": NSNull(), "l": [1, "a"] as [Any], "m": ["k": NSNull()], "s": "", "z": 0, "f": false] as [String: Any]] {
            let parameters = Parameters(source)
            XCTAssertFalse(parameters.has("n"))
            XCTAssertFalse(parameters.has("missing"))
            for key in ["l", "m", "s", "z", "f"] { XCTAssertTrue(parameters.has(key), key) }
            XCTAssertEqual(try parameters.string("n"), nil)
            XCTAssertThrowsError(try parameters.objects("l"), "a list of non-objects")
            XCTAssertEqual(try parameters.objects("n").count, 0, "null is no list")
        }
    }
}
