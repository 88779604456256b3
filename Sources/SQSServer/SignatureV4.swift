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

/// Signature Version 4 signing keys by secret, date, region and service (a few at most; emptied past 64).
final class SigningKeyCache: Sendable {
    private let keys = Mutex<[String: SymmetricKey]>([:])

    func key(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        let name = "\(date)\n\(region)\n\(service)\n\(secret)"
        if let key = keys.withLock({ $0[name] }) { return key }
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        keys.withLock { keys in
            if keys.count >= 64 { keys.removeAll() }
            keys[name] = key
        }
        return key
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
        let lowered = name.lowercased()
        // Names arrive lowercase from the HTTP server: compare as they are first, lowercasing only on a mismatch of case.
        return headers.first { $0.name == lowered || ($0.name.utf8.count == lowered.utf8.count && $0.name.lowercased() == lowered) }?.value
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
        var fields: [String: String] = [:]
        for part in authorization.dropFirst(prefix.count).split(separator: ",") {
            let trimmed = SignatureV4Verifier.trimmed(part)
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw .incompleteSignature("Authorization header field '\(trimmed.prefix(40))' is not key=value.")
            }
            fields[String(trimmed[..<equals])] = String(trimmed[trimmed.index(after: equals)...])
        }
        guard let credential = fields["Credential"], let signedHeadersText = fields["SignedHeaders"],
              let signature = fields["Signature"]
        else {
            throw .incompleteSignature("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.")
        }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
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
        let signedHeaders = signedHeadersText.split(separator: ";").map { String($0) }
        guard !signedHeaders.isEmpty, signedHeaders.contains("host"), signedHeaders == signedHeaders.sorted(),
              signedHeaders.allSatisfy({ $0 == $0.lowercased() })
        else {
            throw .incompleteSignature("SignedHeaders must be lowercase, sorted, and include host.")
        }
        let expected = signatureHex(
            request, signedHeaders: signedHeaders, amzDate: amzDate, scope: "\(date)/\(region)/\(service)/aws4_request",
            date: date, region: region)
        guard let expected, constantTimeEqual(expected, signature) else { throw .signatureMismatch }
        return Verified(accessKeyID: keyID, region: region)
    }

    /// The signature a client holding `credentials` computes (nil when a signed header is missing).
    public func signatureHex(
        _ request: SignedRequest, signedHeaders: [String], amzDate: String, scope: String, date: String, region: String
    ) -> String? {
        var canonicalHeaders = ""
        for name in signedHeaders {
            let values = request.headers.filter { $0.name.lowercased() == name }.map { SignatureV4Verifier.trim($0.value) }
            guard !values.isEmpty else { return nil }
            canonicalHeaders += "\(name):\(values.joined(separator: ","))\n"
        }
        // Always the body's own hash: a client's X-Amz-Content-Sha256 (or UNSIGNED-PAYLOAD) is signed as it is
        // sent, and must then be this hash, so that a captured signature cannot carry another body.
        let payloadHash = SQSChecksum.hex(SHA256.hash(data: request.body))
        if let claimed = request.header("X-Amz-Content-Sha256"), claimed.lowercased() != payloadHash { return nil }
        let canonicalRequest = [
            request.method.uppercased(), SignatureV4Verifier.canonicalPath(request.path),
            SignatureV4Verifier.canonicalQuery(request.query), canonicalHeaders, signedHeaders.joined(separator: ";"),
            payloadHash,
        ].joined(separator: "\n")
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, SQSChecksum.hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let key = signingKeys.key(secret: credentials.secretAccessKey, date: date, region: region, service: service)
        return SQSChecksum.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
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
