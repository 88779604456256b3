import Crypto
import Foundation
@testable import SQSServer
import XCTest

/// The verifier builds the canonical request and parses the Authorization header byte by byte. These tests hold
/// it to the string-based version it replaced (kept below as `Reference`, verbatim in what it computes) on tricky
/// inputs: the same canonical request, signature, and verdict (or the same error, word for word).
final class SignatureFastPathTests: XCTestCase {
    static let credentials = SQSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    let verifier = SignatureV4Verifier(credentials: credentials)
    static let amzDate = "20261201T143327Z"
    static let now = Date(timeIntervalSince1970: 1_796_135_607)

    static let bodies: [[UInt8]] = [
        [], Array(#"{"QueueName": "demo"}"#.utf8), Array(#"{"MessageBody":"红包 ✓ \"q\" \\ \n\t é","n":12345678901234567890}"#.utf8),
        [0, 255, 128, 10],
    ]

    /// Header lists with the cases the old code handled by characters: inner runs of spaces and tabs, blanks at
    /// either end, repeated names, names in any case, unicode (combining marks after a space included), CR LF,
    /// empty values, and a claimed payload hash in upper case.
    static func headerSets(body: [UInt8]) -> [[(name: String, value: String)]] {
        let payload = SQSChecksum.hex(SHA256.hash(data: body))
        let base: [(name: String, value: String)] = [
            (name: "Host", value: "127.0.0.1:9324"), (name: "Content-Type", value: "application/x-amz-json-1.0"),
            (name: "X-Amz-Date", value: amzDate), (name: "X-Amz-Target", value: "AmazonSQS.SendMessage"),
        ]
        return [
            base,
            base.map { ($0.name.lowercased(), $0.value) },
            base + [(name: "x-amz-target", value: "  AmazonSQS.Other \t  twice ")],
            base.map { $0.name == "Content-Type" ? ($0.name, " \t application/x-amz-json-1.0 ;  charset=utf-8\t") : $0 },
            base.map { $0.name == "Content-Type" ? ($0.name, "红包  ✓\t \u{301}x e\u{301}  ") : $0 },
            base.map { $0.name == "Content-Type" ? ($0.name, "a\r\nb  c") : $0 },
            base.map { $0.name == "Content-Type" ? ($0.name, "") : $0 },
            base.map { $0.name == "Content-Type" ? ($0.name, "   ") : $0 },
            base + [(name: "X-AMZ-CONTENT-SHA256", value: payload.uppercased())],
            base + [(name: "x-amz-content-sha256", value: "UNSIGNED-PAYLOAD")],
            base + [(name: "x-amz-content-sha256", value: "ǅ" + payload.dropFirst(2))],
            base.map { $0.name == "Host" ? ("Ho\u{301}st", $0.value) : $0 },
            base.filter { $0.name != "X-Amz-Target" },
            base.map { $0.name == "X-Amz-Target" ? ("X-Amz-Target\u{212A}", $0.value) : $0 },
        ]
    }

    static let signedHeaderSets: [[String]] = [
        ["content-type", "host", "x-amz-date", "x-amz-target"], ["host"], ["host", "x-amz-content-sha256", "x-amz-date"],
        ["host", "x-amz-target\u{212A}"], ["content-type", "content-type", "host"],
    ]

    func testTheCanonicalRequestAndSignatureAreTheStringBuiltOnesOnTrickyInputs() {
        var compared = 0, missing = 0
        for body in Self.bodies {
            for headers in Self.headerSets(body: body) {
                for (path, query) in [("/", ""), ("", ""), ("/123456789012/q-1", ""), ("/a b/ü", "b=2&a=1&a=0&c"), ("/x%2Fy", "k=v w")] {
                    for method in ["POST", "post", "GeT"] {
                        let request = SignedRequest(method: method, path: path, query: query, headers: headers, body: body)
                        for signed in Self.signedHeaderSets {
                            let reference = Reference.canonicalRequest(request, signedHeaders: signed)
                            let fast = SignatureV4Verifier.canonicalRequest(request, signedHeaders: signed)
                            XCTAssertEqual(fast.map { String(decoding: $0, as: UTF8.self) }, reference, "\(headers) \(signed)")
                            let scope = "20261201/us-east-1/sqs/aws4_request"
                            XCTAssertEqual(
                                verifier.signatureHex(request, signedHeaders: signed, amzDate: Self.amzDate, scope: scope,
                                                      date: "20261201", region: "us-east-1"),
                                Reference.signatureHex(request, signedHeaders: signed, amzDate: Self.amzDate, scope: scope,
                                                       date: "20261201", region: "us-east-1", credentials: Self.credentials, service: "sqs"))
                            if reference == nil { missing += 1 } else { compared += 1 }
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(compared, 500, "most cases sign")
        XCTAssertGreaterThan(missing, 50, "and some lack a signed header or claim another payload")
    }

    /// Authorization headers, well and badly formed, ASCII and not: the verdict and any error are the old ones.
    func testEveryAuthorizationHeaderGetsTheVerdictAndErrorTheStringParserGave() {
        let body = Array(#"{"QueueName": "demo"}"#.utf8)
        var request = SignedRequest(method: "POST", path: "/", query: "", headers: Self.headerSets(body: body)[0], body: body)
        let signed = ["content-type", "host", "x-amz-date", "x-amz-target"]
        let signature = verifier.signatureHex(
            request, signedHeaders: signed, amzDate: Self.amzDate, scope: "20261201/us-east-1/sqs/aws4_request",
            date: "20261201", region: "us-east-1") ?? ""
        let credential = "AKIDEXAMPLE/20261201/us-east-1/sqs/aws4_request"
        let headers = signed.joined(separator: ";")
        let good = "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=\(headers), Signature=\(signature)"
        // Built in typed pieces: one mixed literal of `+`, `dropFirst` and interpolations took the type checker
        // over a minute.
        var variants: [String] = [
            good,
            "AWS4-HMAC-SHA256 Credential=\(credential),SignedHeaders=\(headers),Signature=\(signature)",
            "AWS4-HMAC-SHA256  \t Credential=\(credential) ,\t SignedHeaders=\(headers) , Signature=\(signature) \t",
            "AWS4-HMAC-SHA256 ,," + String(good.dropFirst(17)),
        ]
        let suffixes: [String] = [
            ",", ",,", ", ", ", Extra=1", ", Extra", ", Signature=00", ", Credential=OTHER/20261201/us-east-1/sqs/aws4_request",
            ", Ünï=cöde", ", " + String(repeating: "ü", count: 50),
        ]
        variants += suffixes.map { good + $0 }
        let replacements: [(of: String, with: String)] = [
            ("SignedHeaders=", "SignedHeaders=;;"),
            ("content-type;", "Content-Type;"),
            ("content-type;host", "host;content-type"),
            ("content-type;host;", ""),
            ("/aws4_request", "/aws4_request/"),
            ("/sqs/", "/sts/"),
            ("/20261201/", "/2026120/"),
            ("/20261201/", "/20261202/"),
            ("/20261201/", "/٢٠٢٦١٢٠١/"),
            ("AKIDEXAMPLE", "AKIDEXAMPLE\u{301}"),
            (", SignedHeaders", ",\u{301} SignedHeaders"),
            ("Signature=", "Signature=\u{301}"),
        ]
        variants += replacements.map { good.replacingOccurrences(of: $0.of, with: $0.with) }
        variants += ["AWS4-HMAC-SHA256 " + String(repeating: "x", count: 60), "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256", "Bearer x", ""]
        XCTAssertEqual(Set(variants).count, variants.count, "every variant differs")
        for variant in variants {
            request.headers.removeAll { $0.name == "Authorization" }
            request.headers.append((name: "Authorization", value: variant))
            let fast = Result { () throws(SQSError) in try verifier.verify(request, now: Self.now) }
            let reference = Result { () throws(SQSError) in try Reference.verify(request, now: Self.now, verifier: verifier) }
            switch (fast, reference) {
            case (.success(let a), .success(let b)): XCTAssertEqual(a, b, variant)
            case (.failure(let a), .failure(let b)):
                XCTAssertEqual(a.type, b.type, variant)
                XCTAssertEqual(a.message, b.message, variant)
            default: XCTFail("\(variant): \(fast) but the string parser gave \(reference)")
            }
        }
        XCTAssertNoThrow(try verifier.verify(request.with(authorization: good), now: Self.now), "the good one passes")
    }

    func testHeaderNamesMatchWithoutCaseAsBefore() {
        let request = SignedRequest(method: "POST", path: "/", query: "", headers: [
            (name: "X-Amz-Date", value: "a"), (name: "x-amz-target\u{212A}", value: "b"), (name: "ÜBER", value: "c"),
        ], body: [])
        XCTAssertEqual(request.header("x-amz-date"), "a")
        XCTAssertEqual(request.header("X-AMZ-DATE"), "a")
        XCTAssertNil(request.header("x-amz-dat"))
        XCTAssertNil(request.header("x-amz-targetk"), "the Kelvin sign is three bytes: no match, as before")
        XCTAssertEqual(request.header("über"), "c")
    }

    /// The string-based signer and parser this change replaced, kept to compare against.
    enum Reference {
        static func canonicalRequest(_ request: SignedRequest, signedHeaders: [String]) -> String? {
            var canonicalHeaders = ""
            for name in signedHeaders {
                let values = request.headers.filter { $0.name.lowercased() == name }.map { SignatureV4Verifier.trim($0.value) }
                guard !values.isEmpty else { return nil }
                canonicalHeaders += "\(name):\(values.joined(separator: ","))\n"
            }
            let payloadHash = SQSChecksum.hex(SHA256.hash(data: request.body))
            let claimed = request.headers.first { $0.name.lowercased() == "x-amz-content-sha256" }?.value
            if let claimed, claimed.lowercased() != payloadHash { return nil }
            return [
                request.method.uppercased(), SignatureV4Verifier.canonicalPath(request.path),
                SignatureV4Verifier.canonicalQuery(request.query), canonicalHeaders, signedHeaders.joined(separator: ";"),
                payloadHash,
            ].joined(separator: "\n")
        }

        static func signatureHex(
            _ request: SignedRequest, signedHeaders: [String], amzDate: String, scope: String, date: String, region: String,
            credentials: SQSCredentials, service: String
        ) -> String? {
            guard let canonicalRequest = canonicalRequest(request, signedHeaders: signedHeaders) else { return nil }
            let stringToSign = [
                "AWS4-HMAC-SHA256", amzDate, scope, SQSChecksum.hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
            ].joined(separator: "\n")
            var key = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
            for part in [date, region, service, "aws4_request"] {
                key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
            }
            return SQSChecksum.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        }

        static func verify(_ request: SignedRequest, now: Date, verifier: SignatureV4Verifier) throws(SQSError) -> SignatureV4Verifier.Verified {
            let service = verifier.service
            guard let authorization = request.headers.first(where: { $0.name.lowercased() == "authorization" })?.value else {
                throw .missingAuthentication
            }
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
            guard keyID == verifier.credentials.accessKeyID else { throw .invalidClientToken }
            guard scopeService == service else {
                throw .incompleteSignature("Credential should be scoped to correct service: '\(service)'.")
            }
            guard let amzDate = request.header("X-Amz-Date"), let signedAt = SignatureV4Verifier.parseDate(amzDate) else {
                throw .incompleteSignature("The request must carry a valid X-Amz-Date header (yyyyMMdd'T'HHmmss'Z').")
            }
            guard amzDate.hasPrefix(date) else { throw .signatureMismatch }
            guard abs(signedAt.timeIntervalSince(now)) <= verifier.allowedSkew else {
                throw .signatureExpired("\(amzDate) is more than \(Int(verifier.allowedSkew / 60)) minutes from the server's clock.")
            }
            let signedHeaders = signedHeadersText.split(separator: ";").map { String($0) }
            guard !signedHeaders.isEmpty, signedHeaders.contains("host"), signedHeaders == signedHeaders.sorted(),
                  signedHeaders.allSatisfy({ $0 == $0.lowercased() })
            else {
                throw .incompleteSignature("SignedHeaders must be lowercase, sorted, and include host.")
            }
            let expected = signatureHex(
                request, signedHeaders: signedHeaders, amzDate: amzDate, scope: "\(date)/\(region)/\(service)/aws4_request",
                date: date, region: region, credentials: verifier.credentials, service: service)
            guard let expected, expected == signature else { throw .signatureMismatch }
            return SignatureV4Verifier.Verified(accessKeyID: keyID, region: region)
        }
    }
}

extension SignedRequest {
    func with(authorization: String) -> SignedRequest {
        var copy = self
        copy.headers.removeAll { $0.name == "Authorization" }
        copy.headers.append((name: "Authorization", value: authorization))
        return copy
    }
}
