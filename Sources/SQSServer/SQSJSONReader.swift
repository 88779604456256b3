import Foundation

/// Reads the JSON of SQS's requests into the values `JSONSerialization.jsonObject` gives (objects as
/// `[String: Any]`, arrays as `[Any]`, strings as `String`, numbers and booleans as `NSNumber`, null as `NSNull`),
/// straight from the bytes. Foundation's parser builds a tree of its own first and converts it, which made
/// parsing the request the endpoint's largest single cost. It accepts what that parser accepts (`JSONReaderTests`
/// compares the two): RFC 8259 (one value, whitespace around it, no leading zeros, no unescaped control
/// characters, no lone surrogates, valid UTF-8) plus a trailing comma after the last member or element; a later
/// duplicate key replaces an earlier one.
enum SQSJSONReader {
    struct Invalid: Error {}

    /// The deepest nesting read (deeper is refused; the endpoint refuses deeper bodies before parsing anyway).
    static let maxDepth = 512

    static func object(_ bytes: [UInt8]) throws(Invalid) -> Any {
        // One validation of the whole text: every string cut from it below is then valid UTF-8.
        guard String(validating: bytes, as: UTF8.self) != nil else { throw Invalid() }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(Invalid) -> Any in
            var reader = Reader(bytes: buffer)
            reader.skipSpace()
            let value = try reader.value(depth: 0)
            reader.skipSpace()
            guard reader.index == buffer.count else { throw Invalid() }
            return value
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
                default: return
                }
            }
        }

        func peek() throws(Invalid) -> UInt8 {
            guard index < bytes.count else { throw Invalid() }
            return bytes[index]
        }

        mutating func value(depth: Int) throws(Invalid) -> Any {
            switch try peek() {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return try string()
            case UInt8(ascii: "t"):
                try literal("true")
                return NSNumber(value: true)
            case UInt8(ascii: "f"):
                try literal("false")
                return NSNumber(value: false)
            case UInt8(ascii: "n"):
                try literal("null")
                return NSNull()
            default: return try number()
            }
        }

        mutating func literal(_ word: StaticString) throws(Invalid) {
            let count = word.utf8CodeUnitCount
            guard bytes.count - index >= count else { throw Invalid() }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw Invalid() }
            index += count
        }

        mutating func object(depth: Int) throws(Invalid) -> [String: Any] {
            guard depth <= SQSJSONReader.maxDepth else { throw Invalid() }
            var object: [String: Any] = [:]
            try items(closedBy: UInt8(ascii: "}")) { (reader) throws(Invalid) in
                guard try reader.peek() == UInt8(ascii: "\"") else { throw Invalid() }
                let key = try reader.string()
                reader.skipSpace()
                guard try reader.peek() == UInt8(ascii: ":") else { throw Invalid() }
                reader.index += 1
                reader.skipSpace()
                object[key] = try reader.value(depth: depth)
            }
            return object
        }

        mutating func array(depth: Int) throws(Invalid) -> [Any] {
            guard depth <= SQSJSONReader.maxDepth else { throw Invalid() }
            var array: [Any] = []
            try items(closedBy: UInt8(ascii: "]")) { (reader) throws(Invalid) in array.append(try reader.value(depth: depth)) }
            return array
        }

        /// The comma-separated items of the object or array that opens here, up to `close`, each read by `item`.
        mutating func items(closedBy close: UInt8, _ item: (inout Reader) throws(Invalid) -> Void) throws(Invalid) {
            index += 1
            skipSpace()
            if try peek() == close {
                index += 1
                return
            }
            while true {
                try item(&self)
                skipSpace()
                switch try peek() {
                case UInt8(ascii: ","):
                    index += 1
                    skipSpace()
                    // A trailing comma is accepted, as Foundation's parser accepts it.
                    if try peek() == close {
                        index += 1
                        return
                    }
                case close:
                    index += 1
                    return
                default: throw Invalid()
                }
            }
        }

        /// A string: a run without escapes is cut out whole; escapes are decoded into a byte copy.
        mutating func string() throws(Invalid) -> String {
            index += 1
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    defer { index += 1 }
                    return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                }
                if byte == UInt8(ascii: "\\") { break }
                guard byte >= 0x20 else { throw Invalid() }
                index += 1
            }
            var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while true {
                guard index < bytes.count else { throw Invalid() }
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"): try escape(into: &out)
                case ..<0x20: throw Invalid()
                default: out.append(byte)
                }
            }
        }

        mutating func escape(into out: inout [UInt8]) throws(Invalid) {
            let byte = try peek()
            index += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(byte)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                    else { throw Invalid() }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw Invalid() }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw Invalid() }
                out.append(contentsOf: UTF8.encode(unicode)!)
            default: throw Invalid()
            }
        }

        mutating func hex4() throws(Invalid) -> UInt32 {
            guard bytes.count - index >= 4 else { throw Invalid() }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                index += 1
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw Invalid()
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }

        /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`: an integer as an `Int`, a `UInt64` or beyond them a decimal
        /// number, any other as a `Double` (refused when out of its range, as `JSONSerialization` refuses it).
        mutating func number() throws(Invalid) -> NSNumber {
            let start = index
            func digits() -> Int {
                let first = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                return index - first
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            let integerStart = index
            let integerDigits = digits()
            guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else { throw Invalid() }
            var integral = true
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw Invalid() }
                integral = false
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw Invalid() }
                integral = false
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if integral, let integer = Int(text) { return NSNumber(value: integer) }
            if integral, let integer = UInt64(text) { return NSNumber(value: integer) }
            // Beyond both, Foundation's parser keeps every digit of an integer in a decimal number.
            if integral { return NSDecimalNumber(string: text) }
            guard let double = Double(text), double.isFinite else { throw Invalid() }
            return NSNumber(value: double)
        }
    }
}
