import Foundation

/// The parameters of one action: the JSON object of the request body, read with SQS's errors.
struct Parameters {
    let object: [String: Any]

    init(_ object: [String: Any]) { self.object = object }

    /// Whether `key` is there and not JSON's null. The null is told by its type: `is NSNull` on a list or map
    /// bridged the whole value to Foundation's classes first (a batch's entries, every request).
    func has(_ key: String) -> Bool {
        guard let value = object[key] else { return false }
        return !(Swift.type(of: value) is NSNull.Type)
    }

    func string(_ key: String) throws(SQSError) -> String? {
        guard has(key) else { return nil }
        guard let value = object[key] as? String else { throw .invalidParameter("Value for parameter \(key) must be a string.") }
        return value
    }

    func required(_ key: String) throws(SQSError) -> String {
        guard let value = try string(key) else { throw .missingParameter(key) }
        return value
    }

    func int(_ key: String) throws(SQSError) -> Int? {
        guard has(key) else { return nil }
        if !(object[key] is String), let number = object[key] as? NSNumber {
            let double = number.doubleValue
            guard double == double.rounded(), abs(double) < 1e15 else {
                throw .invalidParameter("Value \(number) for parameter \(key) is invalid. Reason: must be an integer.")
            }
            return Int(double)
        }
        if let text = object[key] as? String, let value = Int(text) { return value }
        throw .invalidParameter("Value for parameter \(key) is invalid. Reason: must be an integer.")
    }

    func stringMap(_ key: String) throws(SQSError) -> [String: String] {
        guard has(key) else { return [:] }
        guard let map = object[key] as? [String: Any] else {
            throw .invalidParameter("Value for parameter \(key) must be a map of strings.")
        }
        var out: [String: String] = [:]
        for (name, value) in map {
            if let text = value as? String {
                out[name] = text
            } else if let number = value as? NSNumber {
                out[name] = number.stringValue
            } else {
                throw .invalidParameter("Value for \(key).\(name) must be a string.")
            }
        }
        return out
    }

    func strings(_ key: String) throws(SQSError) -> [String] {
        guard has(key) else { return [] }
        guard let list = object[key] as? [Any], list.allSatisfy({ $0 is String }) else {
            throw .invalidParameter("Value for parameter \(key) must be a list of strings.")
        }
        return list.compactMap { $0 as? String }
    }

    func objects(_ key: String) throws(SQSError) -> [Parameters] {
        guard has(key) else { return [] }
        guard let list = object[key] as? [Any] else { throw .invalidParameter("Value for parameter \(key) must be a list.") }
        var out: [Parameters] = []
        for item in list {
            guard let entry = item as? [String: Any] else { throw .invalidParameter("Entries of \(key) must be objects.") }
            out.append(Parameters(entry))
        }
        return out
    }

    func map(_ key: String) throws(SQSError) -> [String: Any] {
        guard has(key) else { return [:] }
        guard let map = object[key] as? [String: Any] else { throw .invalidParameter("Value for parameter \(key) must be a map.") }
        return map
    }
}
