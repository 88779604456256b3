import Foundation

/// Writes the JSON of SQS's responses (and the bench client's requests): objects of strings, integers,
/// booleans, arrays and nested objects, keys sorted, straight into bytes. Foundation's `JSONSerialization`
/// bridges every value to an Objective-C object first, which made writing JSON the largest single cost of a
/// request. Any other value is written by `JSONSerialization`, so the output is always JSON.
public enum SQSJSONWriter {
    public static func data(_ object: [String: Any]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(object, to: &out)
        return out
    }

    static func write(_ value: Any, to out: inout [UInt8]) {
        // Scalars by their exact type: an NSNumber would otherwise cast to Bool and Int alike (it is written by
        // JSONSerialization, which knows which it holds).
        let type = Swift.type(of: value)
        if type == Bool.self, let flag = value as? Bool {
            return out.append(contentsOf: flag ? Array("true".utf8) : Array("false".utf8))
        }
        if type == Int.self, let number = value as? Int { return out.append(contentsOf: String(number).utf8) }
        if type == Int64.self, let number = value as? Int64 { return out.append(contentsOf: String(number).utf8) }
        // The usual containers by their exact type first: a cast such as `as? [String: String]` tried on a
        // `[String: Any]` converts it element by element (and succeeds when every value is a string), which made
        // the casts below the writer's largest cost.
        if type == String.self, let text = value as? String { return writeString(text, to: &out) }
        if type == [String: Any].self, let object = value as? [String: Any] {
            return writeObject(object.map { ($0.key, $0.value) }, to: &out)
        }
        if type == [[String: Any]].self, let objects = value as? [[String: Any]] { return writeArray(objects, to: &out, write) }
        if type == [String].self, let strings = value as? [String] { return writeArray(strings, to: &out, writeString) }
        if type == [String: String].self, let object = value as? [String: String] {
            return writeObject(object.map { ($0.key, $0.value as Any) }, to: &out)
        }
        if type == [Any].self, let values = value as? [Any] { return writeArray(values, to: &out, write) }
        switch value {
        case let text as String: writeString(text, to: &out)
        case let object as [String: String]: writeObject(object.map { ($0.key, $0.value as Any) }, to: &out)
        case let object as [String: Any]: writeObject(object.map { ($0.key, $0.value) }, to: &out)
        case let strings as [String]: writeArray(strings, to: &out, writeString)
        case let objects as [[String: Any]]: writeArray(objects, to: &out, write)
        case let values as [Any]: writeArray(values, to: &out, write)
        default:
            let fragment = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
            out.append(contentsOf: fragment.map(Array.init) ?? Array("null".utf8))
        }
    }

    private static func writeObject(_ members: [(String, Any)], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (index, member) in members.sorted(by: { $0.0 < $1.0 }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            writeString(member.0, to: &out)
            out.append(UInt8(ascii: ":"))
            write(member.1, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    private static func writeArray<Element>(
        _ elements: [Element], to out: inout [UInt8], _ element: (Element, inout [UInt8]) -> Void
    ) {
        out.append(UInt8(ascii: "["))
        for (index, value) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            element(value, &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `text` as a JSON string: runs of bytes that need no escape are copied whole (a message body usually is
    /// one run), and `"`, `\\` and control characters are escaped.
    static func writeString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                start = index + 1
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                default:
                    out.append(contentsOf: Array("\\u00".utf8))
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0xF)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]))
        }
        out.append(UInt8(ascii: "\""))
    }
}
