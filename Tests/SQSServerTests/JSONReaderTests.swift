import Foundation
import Primitives
@testable import SQSServer
import XCTest

/// The requests' JSON reader against Foundation's `JSONSerialization`, which the endpoint used before: on every
/// input both accept the same objects (and read the same values, written back byte for byte) or both refuse.
final class JSONReaderTests: XCTestCase {
    /// The object each parser reads (nil when it refuses, or when the text is not an object), written back.
    func readings(_ text: [UInt8]) -> (ours: [UInt8]?, foundation: [UInt8]?) {
        let ours = ((try? SQSJSONReader.object(text)) as? [String: Any]).map(SQSJSONWriter.data)
        let foundation = ((try? JSONSerialization.jsonObject(with: Data(text))) as? [String: Any]).map(SQSJSONWriter.data)
        return (ours, foundation)
    }

    static let corpus: [String] = [
        #"{}"#, #" { } "#, "\t{\r\n}\n", #"{"a":1}"#, #"{"a":-1,"b":0,"c":-0,"d":1.5,"e":2e3,"f":-2.5E-3,"g":1.0}"#,
        #"{"big":9223372036854775807,"bigger":9223372036854775808,"small":-9223372036854775808}"#,
        #"{"huge":18446744073709551615,"huger":18446744073709551616,"negative":-9223372036854775809}"#,
        #"{"t":true,"f":false,"n":null}"#, #"{"s":"","u":"中文 😀","e":"\"\\\/\b\f\n\r\t"}"#,
        #"{"u":"\u0041\u00e9\u4e2d\ud83d\ude00"}"#, #"{"x":[1,[2,[3,{}]],[]],"y":{"z":{"w":[]}}}"#,
        #"{"QueueUrl":"http://localhost/123456789012/q","Entries":[{"Id":"e0","MessageBody":"m"}]}"#,
        #"{"MessageAttributes":{"a":{"DataType":"String","StringValue":"v"},"b":{"DataType":"Binary","BinaryValue":"AAE="}}}"#,
        #"{"a":1,"a":2}"#, #"{"a":1,}"#, #"{"a":[1,]}"#, #"{"a":[1 , ] , }"#,
        // Refused by both.
        "", " ", "{", "}", #"{"a"}"#, #"{"a":}"#, #"{,}"#, #"{"a":1,,}"#, #"{"a":[1,,]}"#, #"{"a":[,]}"#, #"{"a":1 "b":2}"#, #"{a:1}"#, #"{'a':1}"#,
        #"{"a":01}"#, #"{"a":1.}"#, #"{"a":.5}"#, #"{"a":1e}"#, #"{"a":+1}"#, #"{"a":-}"#, #"{"a":1e999}"#,
        #"{"a":tru}"#, #"{"a":nul}"#, #"{"a":True}"#, #"{"a":[1,]}"#, #"{"a":[,1]}"#, #"{"a":"\x"}"#, #"{"a":"\u12"}"#,
        #"{"a":"\uZZZZ"}"#, #"{"a":"unterminated}"#, "{\"a\":\"raw\ttab\"}", "{\"a\":\"raw\nline\"}",
        #"{"a":1}x"#, #"{"a":1}{}"#, #"[]"#, #"[{"a":1}]"#, #""text""#, #"1"#, #"null"#, "{\"a\":\"\u{7F}\"}",
    ]

    func testTheReaderAgreesWithFoundationOnEveryCaseOfTheCorpus() {
        for text in Self.corpus {
            let (ours, foundation) = readings(Array(text.utf8))
            XCTAssertEqual(ours.map { String(decoding: $0, as: UTF8.self) }, foundation.map { String(decoding: $0, as: UTF8.self) },
                           "input: \(text)")
        }
    }

    func testInvalidUTF8AndLoneSurrogatesAreRefusedByBoth() {
        let cases: [[UInt8]] = [
            Array(#"{"a":""#.utf8) + [0xFF] + Array(#""}"#.utf8),
            Array(#"{"a":""#.utf8) + [0xC3] + Array(#""}"#.utf8),
            Array(#"{"a":"\ud800"}"#.utf8), Array(#"{"a":"\ud800\u0041"}"#.utf8), Array(#"{"a":"\udc00"}"#.utf8),
        ]
        for text in cases {
            let (ours, foundation) = readings(text)
            XCTAssertNil(ours, "refused: \(text)")
            XCTAssertNil(foundation, "Foundation refuses it too: \(text)")
        }
    }

    /// Valid request bodies with random bytes replaced, inserted or removed: both parsers accept the same ones
    /// and read the same values. A failing seed is printed.
    func testMutatedRequestBodiesAreReadAsFoundationReadsThem() {
        let seeds = [
            #"{"QueueUrl":"http://127.0.0.1:9324/123456789012/bench","MessageBody":"mmmm","DelaySeconds":5}"#,
            #"{"QueueUrl":"u","Entries":[{"Id":"e0","MessageBody":"a\"b"},{"Id":"e1","MessageBody":"\u4e2d"}]}"#,
            #"{"QueueUrl":"u","MaxNumberOfMessages":10,"VisibilityTimeout":60,"AttributeNames":["All"],"X":[true,false,null,-1.25e2]}"#,
        ].map { Array($0.utf8) }
        let alphabet = Array(#"{}[]",:\ 0123456789.-+eEtrufalsn"#.utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xA9, 0xFF]
        let random = SeededRandomSource(seed: 20_261_202)
        var accepted = 0
        for index in 0..<4_000 {
            var text = seeds[Int(random.next() % UInt64(seeds.count))]
            for _ in 0...(random.next() % 3) {
                let position = Int(random.next() % UInt64(text.count))
                let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
                switch random.next() % 3 {
                case 0: text[position] = byte
                case 1: text.insert(byte, at: position)
                default: text.remove(at: position)
                }
            }
            let (ours, foundation) = readings(text)
            if ours != nil { accepted += 1 }
            XCTAssertEqual(ours, foundation, "case \(index): \(String(decoding: text, as: UTF8.self))")
        }
        XCTAssertGreaterThan(accepted, 100, "some mutations stay valid JSON")
    }
}
