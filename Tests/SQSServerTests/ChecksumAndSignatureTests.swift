import Foundation
@testable import SQSServer
import XCTest

/// SQS's MD5s and Signature Version 4, checked against values computed by code nobody here wrote:
/// moto's message checksums and botocore's signer.
final class ChecksumAndSignatureTests: XCTestCase {
    func testBodyMD5MatchesMoto() {
        XCTAssertEqual(SQSChecksum.body("hello world"), "5eb63bbbe01eeed093cb22bb8f5acdc3")
        XCTAssertEqual(SQSChecksum.body("红包 ✓"), "db8bf95555463967a6c3fea0eaed2bbc")
    }

    func testMessageAttributesMD5MatchesMoto() {
        let attributes: [String: MessageAttributeValue] = [
            "city": MessageAttributeValue(dataType: "String", stringValue: "Any City"),
            "count": MessageAttributeValue(dataType: "Number", stringValue: "42"),
            "blob": MessageAttributeValue(dataType: "Binary", binaryValue: [1, 2, 3]),
            "Zeta.name": MessageAttributeValue(dataType: "String.custom", stringValue: "红包"),
        ]
        XCTAssertEqual(SQSChecksum.attributes(attributes), "ad7788462311f07685bdaae899a8b9a9")
    }

    /// Signed by botocore's SigV4Auth (credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY).
    static let botocoreRequest = SignedRequest(
        method: "POST", path: "/", query: "",
        headers: [
            (name: "Host", value: "127.0.0.1:9324"),
            (name: "X-Amz-Target", value: "AmazonSQS.CreateQueue"),
            (name: "Content-Type", value: "application/x-amz-json-1.0"),
            (name: "X-Amz-Date", value: "20261201T143327Z"),
            (name: "Authorization", value: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=c8efc894244e4d6dbb213289f1b3124da9429e7f222573450104bc30b39c5843"),
        ],
        body: Array(#"{"QueueName": "demo"}"#.utf8))
    static let signedAt = Date(timeIntervalSince1970: 1_796_135_607)  // 2026-12-01T14:33:27Z
    let verifier = SignatureV4Verifier(credentials: SQSCredentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))

    func testBotocoreSignatureVerifies() throws {
        let verified = try verifier.verify(Self.botocoreRequest, now: Self.signedAt.addingTimeInterval(60))
        XCTAssertEqual(verified.region, "us-east-1")
        XCTAssertEqual(verified.accessKeyID, "AKIDEXAMPLE")
    }

    func testAChangedBodyHeaderOrSecretIsRefused() {
        var body = Self.botocoreRequest
        body.body = Array(#"{"QueueName": "demp"}"#.utf8)
        XCTAssertThrowsError(try verifier.verify(body, now: Self.signedAt)) { XCTAssertEqual(($0 as? SQSError)?.type, "SignatureDoesNotMatch") }
        var target = Self.botocoreRequest
        target.headers[1].value = "AmazonSQS.DeleteQueue"
        XCTAssertThrowsError(try verifier.verify(target, now: Self.signedAt)) { XCTAssertEqual(($0 as? SQSError)?.type, "SignatureDoesNotMatch") }
        let otherSecret = SignatureV4Verifier(credentials: SQSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "other"))
        XCTAssertThrowsError(try otherSecret.verify(Self.botocoreRequest, now: Self.signedAt)) {
            XCTAssertEqual(($0 as? SQSError)?.type, "SignatureDoesNotMatch")
        }
    }

    /// Signing keys are derived once per day, region and service and kept: a copy of the verifier given another
    /// secret, or asked about another service, must not be served the key it derived before.
    func testTheSigningKeyKeptFromAnEarlierRequestServesOnlyTheSameSecretAndService() throws {
        _ = try verifier.verify(Self.botocoreRequest, now: Self.signedAt)
        var rotated = verifier
        rotated.credentials.secretAccessKey = "rotated"
        XCTAssertThrowsError(try rotated.verify(Self.botocoreRequest, now: Self.signedAt)) {
            XCTAssertEqual(($0 as? SQSError)?.type, "SignatureDoesNotMatch")
        }
        var sts = verifier
        sts.service = "sts"
        XCTAssertThrowsError(try sts.verify(Self.botocoreRequest, now: Self.signedAt))
        let again = try verifier.verify(Self.botocoreRequest, now: Self.signedAt)
        XCTAssertEqual(again.accessKeyID, "AKIDEXAMPLE", "and the kept key still verifies the original")
    }

    func testAPathOfUnreservedCharactersIsItsOwnCanonicalFormAndOthersAreEncoded() {
        XCTAssertEqual(SignatureV4Verifier.canonicalPath(""), "/")
        XCTAssertEqual(SignatureV4Verifier.canonicalPath("/"), "/")
        XCTAssertEqual(SignatureV4Verifier.canonicalPath("/123456789012/my-queue_1.x~"), "/123456789012/my-queue_1.x~")
        XCTAssertEqual(SignatureV4Verifier.canonicalPath("/a b"), "/a%20b")
        XCTAssertEqual(SignatureV4Verifier.canonicalPath("/a%20b"), "/a%20b")
        XCTAssertEqual(SignatureV4Verifier.trimmed(" \tSignature=abc \t"), "Signature=abc")
        XCTAssertEqual(SignatureV4Verifier.trimmed("   "), "")
    }

    func testUnknownKeyMissingAuthorizationAndOldSignaturesAreRefused() {
        let otherKey = SignatureV4Verifier(credentials: SQSCredentials(accessKeyID: "AKIDOTHER", secretAccessKey: "x"))
        XCTAssertThrowsError(try otherKey.verify(Self.botocoreRequest, now: Self.signedAt)) {
            XCTAssertEqual(($0 as? SQSError)?.type, "InvalidClientTokenId")
        }
        var unsigned = Self.botocoreRequest
        unsigned.headers.removeLast()
        XCTAssertThrowsError(try verifier.verify(unsigned, now: Self.signedAt)) {
            XCTAssertEqual(($0 as? SQSError)?.type, "MissingAuthenticationToken")
        }
        XCTAssertThrowsError(try verifier.verify(Self.botocoreRequest, now: Self.signedAt.addingTimeInterval(16 * 60))) {
            XCTAssertEqual(($0 as? SQSError)?.message.hasPrefix("Signature expired"), true)
        }
    }

    func testAClaimedPayloadHashMustBeTheBodysOwn() throws {
        var honest = Self.botocoreRequest
        // sha256 of the body, {"QueueName": "demo"}
        honest.headers.append((name: "X-Amz-Content-Sha256", value: "a48e03a588b5de61cb663588b96cd82051fe9cbed339ece6591d74e80f7fd4e6"))
        XCTAssertNoThrow(try verifier.verify(honest, now: Self.signedAt))
        for claimed in ["UNSIGNED-PAYLOAD", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" /* sha256 of {} */] {
            var request = Self.botocoreRequest
            request.headers.append((name: "X-Amz-Content-Sha256", value: claimed))
            XCTAssertThrowsError(try verifier.verify(request, now: Self.signedAt), claimed) {
                XCTAssertEqual(($0 as? SQSError)?.type, "SignatureDoesNotMatch")
            }
        }
    }

    func testOnlyRealDatesInTheBasicFormatAreAccepted() {
        for date in ["20261231T143327Z", "20240229T000000Z"] {
            var request = Self.botocoreRequest
            request.headers[3].value = date
            XCTAssertThrowsError(try verifier.verify(request, now: Self.signedAt)) {
                // A real date: parsed, then the signature (made for another date) does not match, or it is too far off.
                XCTAssertNotEqual(($0 as? SQSError)?.message.contains("X-Amz-Date"), true, date)
            }
        }
        for date in ["20260231T143327Z", "20261301T143327Z", "20261201T243327Z", "2026-12-01T14:33Z", "20261201T14332 Z",
                     "20261201X143327Z", "20261201T143360Z", "+0261201T143327Z", "19691231T235959Z", ""] {
            var request = Self.botocoreRequest
            request.headers[3].value = date
            XCTAssertThrowsError(try verifier.verify(request, now: Self.signedAt)) {
                XCTAssertEqual(($0 as? SQSError)?.message.contains("X-Amz-Date"), true, "\(date): \($0)")
            }
        }
    }
}
