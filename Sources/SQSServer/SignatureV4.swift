import Crypto
import Foundation
import Synchronization

/// An access key pair the endpoint accepts.
public struct SQSCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String

    public init(accessKeyID: String, secretAccessKey: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
    }
}

/// Signature Version 4 signing keys by secret, date, region and service (a few at most; emptied past 64), each
/// kept as an HMAC already keyed with it: copying one (a value) is cheaper than keying a new one per request.
final class SigningKeyCache: Sendable {
    private let keys = Mutex<[String: HMAC<SHA256>]>([:])

    func authenticator(secret: String, date: String, region: String, service: String) -> HMAC<SHA256> {
        let name = "\(date)\n\(region)\n\(service)\n\(secret)"
        if let authenticator = keys.withLock({ $0[name] }) { return authenticator }
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let authenticator = HMAC<SHA256>(key: key)
        keys.withLock { keys in
            if keys.count >= 64 { keys.removeAll() }
            keys[name] = authenticator
        }
        return authenticator
    }
}

/// The parts of an HTTP request that a signature covers.
public struct SignedRequest: Sendable {
    public var method: String
    /// The path as sent, percent-encoded (`/` for the JSON protocol).
    public var path: String
    /// The query string as sent, without `?` (may be empty).
    public var query: String
    /// Header names (any case) and values, in arrival order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, path: String, query: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The first value of a header (case-insensitive name).
    public func header(_ name: String) -> String? {
        headers.first { SignedRequest.sameName($0.name, name) }?.value
    }

    /// Whether header `name` is `wanted` (which is ASCII: every name this code asks for is) without regard to
    /// case: ASCII byte by byte, without the lowercased copies every request used to make a dozen of; a name
    /// that is not ASCII as `lowercased()` compares it.
    static func sameName(_ name: String, _ wanted: String) -> Bool {
        guard name.utf8.count == wanted.utf8.count else { return false }
        for (p, q) in zip(name.utf8, wanted.utf8) {
            if p >= 0x80 || q >= 0x80 { return name.lowercased() == wanted.lowercased() }
            if p != q && lowered(p) != lowered(q) { return false }
        }
        return true
    }

    /// Whether header `name`, lowercased, is `signed` (a name from SignedHeaders, compared as it is).
    static func isSigned(_ name: String, as signed: String) -> Bool {
        guard name.utf8.count == signed.utf8.count, name.utf8.allSatisfy({ $0 < 0x80 }) else {
            return name.lowercased() == signed
        }
        return zip(name.utf8, signed.utf8).allSatisfy { lowered($0) == $1 }
    }

    @inline(__always) static func lowered(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }
}

/// Verifies AWS Signature Version 4 (`Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
/// Signature=...`) as AWS computes it: canonical request, string to sign, and the HMAC-SHA256 key chain of
/// date, region, service and `aws4_request`. Refuses unsigned requests, unknown keys, other services, clocks
/// more than 15 minutes off, and any signature that differs.
public struct SignatureV4Verifier: Sendable {
    public var credentials: SQSCredentials
    public var service: String
    public var allowedSkew: TimeInterval

    public init(credentials: SQSCredentials, service: String = "sqs", allowedSkew: TimeInterval = 15 * 60) {
        self.credentials = credentials
        self.service = service
        self.allowedSkew = allowedSkew
    }

    /// What a verified signature tells: who signed and for which region.
    public struct Verified: Sendable, Equatable {
        public var accessKeyID: String
        public var region: String
    }

    public func verify(_ request: SignedRequest, now: Date) throws(SQSError) -> Verified {
        guard let authorization = request.header("Authorization") else { throw .missingAuthentication }
        let prefix = "AWS4-HMAC-SHA256 "
        guard authorization.hasPrefix(prefix) else {
            throw .incompleteSignature("Authorization header requires the AWS4-HMAC-SHA256 algorithm.")
        }
        // An ASCII header (every SDK's) is parsed byte by byte; any other by characters, as it always was.
        let ascii = authorization.utf8.allSatisfy { $0 < 0x80 }
        let fields = ascii
            ? try SignatureV4Verifier.asciiFields(Array(authorization.utf8).dropFirst(prefix.utf8.count))
            : try SignatureV4Verifier.fields(authorization.dropFirst(prefix.count))
        guard let credential = fields.credential, let signedHeadersText = fields.signedHeaders,
              let signature = fields.signature
        else {
            throw .incompleteSignature("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.")
        }
        let scope = SignatureV4Verifier.split(credential, "/", ascii: ascii, omittingEmpty: false)
        guard scope.count == 5, scope[4] == "aws4_request", scope[1].count == 8, scope[1].allSatisfy(\.isNumber) else {
            throw .incompleteSignature("Credential should be scoped to a valid date, region, service and aws4_request.")
        }
        let (keyID, date, region, scopeService) = (scope[0], scope[1], scope[2], scope[3])
        guard keyID == credentials.accessKeyID else { throw .invalidClientToken }
        guard scopeService == service else {
            throw .incompleteSignature("Credential should be scoped to correct service: '\(service)'.")
        }
        guard let amzDate = request.header("X-Amz-Date"), let signedAt = SignatureV4Verifier.parseDate(amzDate) else {
            throw .incompleteSignature("The request must carry a valid X-Amz-Date header (yyyyMMdd'T'HHmmss'Z').")
        }
        guard amzDate.hasPrefix(date) else {
            throw .signatureMismatch
        }
        guard abs(signedAt.timeIntervalSince(now)) <= allowedSkew else {
            throw .signatureExpired("\(amzDate) is more than \(Int(allowedSkew / 60)) minutes from the server's clock.")
        }
        let signedHeaders = SignatureV4Verifier.split(signedHeadersText, ";", ascii: ascii, omittingEmpty: true)
        let lowercase = ascii
            ? signedHeadersText.utf8.allSatisfy { !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
            : signedHeaders.allSatisfy({ $0 == $0.lowercased() })
        guard !signedHeaders.isEmpty, signedHeaders.contains("host"), signedHeaders == signedHeaders.sorted(), lowercase
        else {
            throw .incompleteSignature("SignedHeaders must be lowercase, sorted, and include host.")
        }
        let expected = signatureHex(
            request, signedHeaders: signedHeaders, amzDate: amzDate, scope: "\(date)/\(region)/\(service)/aws4_request",
            date: date, region: region)
        guard let expected, constantTimeEqual(expected, signature) else { throw .signatureMismatch }
        return Verified(accessKeyID: keyID, region: region)
    }

    /// The three fields of an Authorization header that matter (a later one of a name wins, others are ignored);
    /// every comma-separated part must be `key=value`.
    struct AuthorizationFields {
        var credential: String?
        var signedHeaders: String?
        var signature: String?

        mutating func set(_ key: some StringProtocol, _ value: String) {
            switch key {
            case "Credential": credential = value
            case "SignedHeaders": signedHeaders = value
            case "Signature": signature = value
            default: break
            }
        }
    }

    /// The fields of an ASCII Authorization header after its algorithm, byte by byte.
    static func asciiFields(_ bytes: ArraySlice<UInt8>) throws(SQSError) -> AuthorizationFields {
        var fields = AuthorizationFields()
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.endIndex
            var first = start, last = end
            start = end + 1
            guard first < last else { continue }
            while first < last, bytes[first] == UInt8(ascii: " ") || bytes[first] == UInt8(ascii: "\t") { first += 1 }
            while last > first, bytes[last - 1] == UInt8(ascii: " ") || bytes[last - 1] == UInt8(ascii: "\t") { last -= 1 }
            let part = bytes[first..<last]
            guard let equals = part.firstIndex(of: UInt8(ascii: "=")) else {
                throw .incompleteSignature("Authorization header field '\(String(decoding: part.prefix(40), as: UTF8.self))' is not key=value.")
            }
            fields.set(String(decoding: part[..<equals], as: UTF8.self), String(decoding: part[(equals + 1)...], as: UTF8.self))
        }
        return fields
    }

    /// The fields of any other Authorization header after its algorithm, by characters.
    static func fields(_ text: Substring) throws(SQSError) -> AuthorizationFields {
        var fields = AuthorizationFields()
        for part in text.split(separator: ",") {
            let trimmed = SignatureV4Verifier.trimmed(part)
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw .incompleteSignature("Authorization header field '\(trimmed.prefix(40))' is not key=value.")
            }
            fields.set(trimmed[..<equals], String(trimmed[trimmed.index(after: equals)...]))
        }
        return fields
    }

    /// `text` split at `separator`: by bytes when ASCII (the same parts, without grapheme breaking), else by characters.
    static func split(_ text: String, _ separator: Character, ascii: Bool, omittingEmpty: Bool) -> [String] {
        guard ascii, let byte = separator.asciiValue else {
            return text.split(separator: separator, omittingEmptySubsequences: omittingEmpty).map(String.init)
        }
        return text.utf8.split(separator: byte, omittingEmptySubsequences: omittingEmpty).map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    /// The signature a client holding `credentials` computes (nil when a signed header is missing).
    public func signatureHex(
        _ request: SignedRequest, signedHeaders: [String], amzDate: String, scope: String, date: String, region: String
    ) -> String? {
        guard let canonicalRequest = SignatureV4Verifier.canonicalRequest(request, signedHeaders: signedHeaders) else {
            return nil
        }
        var stringToSign: [UInt8] = []
        stringToSign.reserveCapacity(32 + amzDate.utf8.count + scope.utf8.count + 64)
        stringToSign += "AWS4-HMAC-SHA256\n".utf8
        stringToSign += amzDate.utf8
        stringToSign.append(UInt8(ascii: "\n"))
        stringToSign += scope.utf8
        stringToSign.append(UInt8(ascii: "\n"))
        SQSChecksum.appendHex(SHA256.hash(data: canonicalRequest), to: &stringToSign)
        var authenticator = signingKeys.authenticator(
            secret: credentials.secretAccessKey, date: date, region: region, service: service)
        authenticator.update(data: stringToSign)
        return SQSChecksum.hex(authenticator.finalize())
    }

    /// SigV4's canonical request, as bytes: method, canonical path and query, the signed headers (values trimmed,
    /// several of one name joined by commas), their names, and the body's SHA-256. Nil when a signed header is
    /// missing, or when the request claims another payload hash (`X-Amz-Content-Sha256`, `UNSIGNED-PAYLOAD`
    /// included): the hash is always the body's own, so that a captured signature cannot carry another body.
    static func canonicalRequest(_ request: SignedRequest, signedHeaders: [String]) -> [UInt8]? {
        var payloadHash: [UInt8] = []
        payloadHash.reserveCapacity(64)
        SQSChecksum.appendHex(SHA256.hash(data: request.body), to: &payloadHash)
        if let claimed = request.header("X-Amz-Content-Sha256") {
            let same = claimed.utf8.count == payloadHash.count && claimed.utf8.allSatisfy { $0 < 0x80 }
                ? zip(claimed.utf8, payloadHash).allSatisfy { SignedRequest.lowered($0) == $1 }
                : claimed.lowercased() == String(decoding: payloadHash, as: UTF8.self)
            guard same else { return nil }
        }
        var out: [UInt8] = []
        out.reserveCapacity(256 + request.path.utf8.count + request.query.utf8.count)
        out += request.method.uppercased().utf8
        out.append(UInt8(ascii: "\n"))
        out += canonicalPath(request.path).utf8
        out.append(UInt8(ascii: "\n"))
        out += canonicalQuery(request.query).utf8
        out.append(UInt8(ascii: "\n"))
        for name in signedHeaders {
            out += name.utf8
            out.append(UInt8(ascii: ":"))
            var found = false
            for header in request.headers where SignedRequest.isSigned(header.name, as: name) {
                if found { out.append(UInt8(ascii: ",")) }
                found = true
                appendTrimmed(header.value, to: &out)
            }
            guard found else { return nil }
            out.append(UInt8(ascii: "\n"))
        }
        out.append(UInt8(ascii: "\n"))
        for (index, name) in signedHeaders.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ";")) }
            out += name.utf8
        }
        out.append(UInt8(ascii: "\n"))
        out += payloadHash
        return out
    }

    /// A header value as `trim` gives it, appended: an ASCII value byte by byte, any other by characters.
    static func appendTrimmed(_ value: String, to out: inout [UInt8]) {
        guard value.utf8.allSatisfy({ $0 < 0x80 }) else { return out += trim(value).utf8 }
        var pendingSpace = false, wrote = false
        for byte in value.utf8 {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                pendingSpace = wrote
            } else {
                if pendingSpace { out.append(UInt8(ascii: " ")) }
                pendingSpace = false
                wrote = true
                out.append(byte)
            }
        }
    }

    /// The signing keys derived so far (one per day, region and service in practice): deriving one is four
    /// HMACs, which every request would otherwise repeat.
    let signingKeys = SigningKeyCache()

    /// `yyyyMMdd'T'HHmmss'Z'` (UTC), the only form SigV4 uses; nil for anything else, an impossible date
    /// included. Parsed by hand: a `DateFormatter` per request cost more than the rest of the verification.
    static func parseDate(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            var value: Int32 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int32(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
              year >= 1970, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        var seconds = timegm(&parts)
        // timegm normalizes 31 February into March: only a date that reads back the same is one.
        var check = tm()
        gmtime_r(&seconds, &check)
        guard check.tm_mday == day, check.tm_mon == month - 1 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// `text` without spaces and tabs at either end (without Foundation's character sets, which cost more
    /// than the rest of parsing the header).
    static func trimmed(_ text: Substring) -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else {
            return ""
        }
        return String(text[first...last])
    }

    /// Header values: outer whitespace trimmed, inner runs of spaces folded to one.
    static func trim(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8)

    static func encode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            if unreserved.contains(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                out.append(Character(Unicode.Scalar(byte)))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func decode(_ text: Substring, plusIsSpace: Bool = false) -> String {
        let replaced = plusIsSpace ? text.replacingOccurrences(of: "+", with: " ") : String(text)
        return replaced.removingPercentEncoding ?? replaced
    }

    static func canonicalPath(_ path: String) -> String {
        // The common case (`/`, or any path of unreserved characters and slashes) is its own canonical form.
        if path.isEmpty { return "/" }
        if path.utf8.allSatisfy({ unreserved.contains($0) || $0 == UInt8(ascii: "/") }) { return path }
        let decoded = decode(Substring(path))
        return encode(decoded, keepSlash: true)
    }

    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&").map { item -> (String, String) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = encode(decode(parts[0]), keepSlash: false)
            let value = parts.count > 1 ? encode(decode(parts[1]), keepSlash: false) : ""
            return (key, value)
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    private func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
