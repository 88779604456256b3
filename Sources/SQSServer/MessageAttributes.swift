import Crypto
import Foundation

/// One message attribute as SQS carries it: a data type (`String`, `Number`, `Binary`, optionally with a
/// custom suffix such as `Number.float`) and a string or binary value.
public struct MessageAttributeValue: Sendable, Equatable, Codable {
    public var dataType: String
    public var stringValue: String?
    public var binaryValue: [UInt8]?

    public init(dataType: String, stringValue: String? = nil, binaryValue: [UInt8]? = nil) {
        self.dataType = dataType
        self.stringValue = stringValue
        self.binaryValue = binaryValue
    }

    /// True for `Binary` and `Binary.*` (transport type 2 in the checksum); false for strings and numbers.
    public var isBinary: Bool { dataType == "Binary" || dataType.hasPrefix("Binary.") }

    /// Bytes counted toward the message size: name, type and value (as SQS counts them).
    func size(name: String) -> Int {
        name.utf8.count + dataType.utf8.count + (stringValue?.utf8.count ?? 0) + (binaryValue?.count ?? 0)
    }

    /// Parses `{"DataType": ..., "StringValue" | "BinaryValue": ...}` (binary values are base64 on the wire).
    static func parse(name: String, _ json: Any?) throws(SQSError) -> MessageAttributeValue {
        guard let object = json as? [String: Any] else {
            throw .invalidParameter("The message attribute '\(name)' must contain a non-empty message attribute value.")
        }
        guard let dataType = object["DataType"] as? String, !dataType.isEmpty else {
            throw .invalidParameter("The message attribute '\(name)' must contain non-empty message attribute type.")
        }
        let base = dataType.split(separator: ".", maxSplits: 1).first.map(String.init) ?? ""
        guard ["String", "Number", "Binary"].contains(base) else {
            throw .invalidParameter("The message attribute '\(name)' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.")
        }
        if base == "Binary" {
            guard let text = object["BinaryValue"] as? String, let data = Data(base64Encoded: text), !data.isEmpty else {
                throw .invalidParameter("The message attribute '\(name)' with type 'Binary' must use field 'Binary'.")
            }
            return MessageAttributeValue(dataType: dataType, binaryValue: Array(data))
        }
        guard let value = object["StringValue"] as? String, !value.isEmpty else {
            throw .invalidParameter("The message attribute '\(name)' with type '\(base)' must use field 'String'.")
        }
        if base == "Number", Double(value) == nil {
            throw .invalidParameter("Value \(value) for parameter MessageAttributeValue is invalid. Reason: Could not cast message attribute '\(name)' value to number.")
        }
        return MessageAttributeValue(dataType: dataType, stringValue: value)
    }

    /// The wire form: binary values base64-encoded.
    var json: [String: Any] {
        var object: [String: Any] = ["DataType": dataType]
        if let stringValue { object["StringValue"] = stringValue }
        if let binaryValue { object["BinaryValue"] = Data(binaryValue).base64EncodedString() }
        return object
    }
}

/// SQS's checksums, which SDKs recompute and compare: the MD5 of the body, and the MD5 of the message
/// attributes in SQS's documented encoding (attributes sorted by name; for each, the name, the data type and
/// the value, each as a 4-byte big-endian length and its bytes, with a transport byte, 1 for strings and
/// numbers, 2 for binary, before the value).
public enum SQSChecksum {
    public static func md5(_ bytes: some Sequence<UInt8>) -> String {
        hex(Insecure.MD5.hash(data: Array(bytes)))
    }

    public static func body(_ body: String) -> String { md5(Array(body.utf8)) }

    public static func attributes(_ attributes: [String: MessageAttributeValue]) -> String {
        var bytes: [UInt8] = []
        func append(_ field: [UInt8]) {
            let length = UInt32(field.count)
            bytes += [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            bytes += field
        }
        for name in attributes.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            guard let value = attributes[name] else { continue }
            append(Array(name.utf8))
            append(Array(value.dataType.utf8))
            if value.isBinary {
                bytes.append(2)
                append(value.binaryValue ?? [])
            } else {
                bytes.append(1)
                append(Array((value.stringValue ?? "").utf8))
            }
        }
        return md5(bytes)
    }

    /// Lowercase hexadecimal, as SQS prints digests.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        appendHex(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `bytes` as lowercase hexadecimal.
    static func appendHex(_ bytes: some Sequence<UInt8>, to out: inout [UInt8]) {
        for byte in bytes {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
    }
}
