import Foundation
import MessageQueue
import Primitives
import Synchronization

/// An HTTP response, before it is written.
public struct SQSResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// The body as JSON (tests and the bench read responses with it).
    public var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }
}

/// Amazon SQS's AWS JSON 1.0 protocol over a `MessageQueueService`: authenticates a request (Signature
/// Version 4), dispatches `X-Amz-Target: AmazonSQS.<Action>` to the queue, and answers with SQS's shapes and
/// errors. Independent of the HTTP server, so tests drive it directly.
public final class SQSEndpoint: Sendable {
    /// The account id in queue URLs and ARNs.
    public static let accountID = "123456789012"
    /// The largest request body read (an SQS batch is at most 1 MiB; JSON escapes can make it larger).
    public static let maxBodyBytes = 4 * 1024 * 1024

    public let service: MessageQueueService
    public let verifier: SignatureV4Verifier
    public let traffic: SQSTraffic
    let moveTasks = Mutex<[MoveTask]>([])

    public init(service: MessageQueueService, credentials: SQSCredentials, traffic: SQSTraffic = SQSTraffic()) {
        self.service = service
        self.verifier = SignatureV4Verifier(credentials: credentials)
        self.traffic = traffic
    }

    /// Purges, every `interval` until cancelled, the messages past their queue's retention (`keptOnly`: only the
    /// deleted messages kept for rewinding past their window). Run it beside the server.
    public func purgeExpiredPeriodically(every interval: Duration = .seconds(60), keptOnly: Bool = false) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            _ = try? await service.purgeExpired(keptOnly: keptOnly)
        }
    }

    /// Everything an action needs to know about its request.
    struct Context {
        /// `http://host:port`, from the Host header: queue URLs point back where the client connected.
        var baseURL: String
        var region: String
        var accessKeyID: String
    }

    /// Answers one request. Never throws: every refusal is an SQS error response.
    public func handle(_ request: SignedRequest, now: Date = Date()) async -> SQSResponse {
        let target = request.header("X-Amz-Target") ?? ""
        let action = target.hasPrefix("AmazonSQS.")
            ? String(target.dropFirst("AmazonSQS.".count)) : target == SQSEndpoint.rewindTarget ? target : ""
        let known = target == SQSEndpoint.rewindTarget || SQSEndpoint.actions.contains(action)
        let label = action.isEmpty || !known ? "(invalid)" : action
        do {
            guard request.method.uppercased() == "POST" else {
                throw SQSError(status: 405, type: "InvalidAction", message: "Only POST requests are accepted.")
            }
            if target.isEmpty, SQSEndpoint.isCallerIdentityRequest(request) {
                var sts = verifier
                sts.service = "sts"
                let verified = try sts.verify(request, now: now)
                traffic.record(action: "sts:GetCallerIdentity", errorCode: nil, at: now)
                return SQSEndpoint.callerIdentity(verified.accessKeyID)
            }
            let verified = try verifier.verify(request, now: now)
            guard !target.isEmpty else {
                if (request.header("Content-Type") ?? "").contains("x-www-form-urlencoded") {
                    throw SQSError.unsupported("The query protocol (form-encoded requests)")
                }
                throw SQSError.unknownOperation(target)
            }
            guard known else { throw SQSError.unknownOperation(target) }
            let object: [String: Any]
            if request.body.isEmpty {
                object = [:]
            } else {
                guard SQSEndpoint.nestingDepth(request.body) <= SQSEndpoint.maxNesting else {
                    throw SQSError.serialization("The request body nests deeper than \(SQSEndpoint.maxNesting) levels.")
                }
                guard let parsed = try? SQSJSONReader.object(request.body), let dictionary = parsed as? [String: Any]
                else { throw SQSError.serialization("The request body is not a JSON object.") }
                object = dictionary
            }
            let host = request.header("Host") ?? "localhost"
            let context = Context(baseURL: "http://\(host)", region: verified.region, accessKeyID: verified.accessKeyID)
            let result = try await perform(action, Parameters(object), context)
            traffic.record(action: label, errorCode: nil, at: now)
            return SQSResponse(status: 200, headers: SQSEndpoint.headers(), body: SQSJSONWriter.data(result))
        } catch let error as SQSError {
            traffic.record(action: label, errorCode: error.type, at: now)
            return SQSEndpoint.response(for: error)
        } catch {
            let wrapped = SQSError.internalError("\(error)")
            traffic.record(action: label, errorCode: wrapped.type, at: now)
            return SQSEndpoint.response(for: wrapped)
        }
    }

    /// The deepest nesting of JSON objects and arrays a request may have (SQS's shapes need 4); deeper
    /// bodies are refused before parsing, so that no body can exhaust the parser's stack.
    static let maxNesting = 32

    /// The deepest `{`/`[` nesting outside strings (a scan, not a parse).
    static func nestingDepth(_ body: [UInt8]) -> Int {
        var depth = 0, deepest = 0, inString = false, escaped = false
        for byte in body {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    /// STS's GetCallerIdentity (query protocol), which SDK programs and test suites call to learn the account
    /// id: the one thing besides SQS this endpoint answers.
    static func isCallerIdentityRequest(_ request: SignedRequest) -> Bool {
        guard (request.header("Content-Type") ?? "").contains("x-www-form-urlencoded"), request.body.count < 1_024 else {
            return false
        }
        let form = String(decoding: request.body, as: UTF8.self).split(separator: "&")
        return form.contains("Action=GetCallerIdentity")
    }

    static func callerIdentity(_ accessKeyID: String) -> SQSResponse {
        let xml = """
            <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <GetCallerIdentityResult>
                <Arn>arn:aws:iam::\(accountID):user/hongbao</Arn>
                <UserId>\(accessKeyID)</UserId>
                <Account>\(accountID)</Account>
              </GetCallerIdentityResult>
              <ResponseMetadata><RequestId>\(RandomUUID.make())</RequestId></ResponseMetadata>
            </GetCallerIdentityResponse>
            """
        return SQSResponse(status: 200, headers: [(name: "Content-Type", value: "text/xml")], body: Array(xml.utf8))
    }

    /// The response for an error: `__type` and `message` in the body, the query code in `x-amzn-query-error`.
    public static func response(for error: SQSError) -> SQSResponse {
        let object: [String: Any] = ["__type": "com.amazonaws.sqs#\(error.type)", "message": error.message]
        var headers = headers()
        headers.append((name: "x-amzn-query-error", value: error.queryErrorHeader))
        return SQSResponse(status: error.status, headers: headers, body: SQSJSONWriter.data(object))
    }

    static func headers() -> [(name: String, value: String)] {
        [
            (name: "Content-Type", value: "application/x-amz-json-1.0"),
            (name: "x-amzn-RequestId", value: RandomUUID.make()),
        ]
    }

    /// Every action this endpoint answers.
    public static let actions: Set<String> = [
        "CreateQueue", "GetQueueUrl", "ListQueues", "DeleteQueue", "GetQueueAttributes", "SetQueueAttributes",
        "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
        "ChangeMessageVisibility", "ChangeMessageVisibilityBatch", "PurgeQueue", "ListDeadLetterSourceQueues",
        "StartMessageMoveTask", "ListMessageMoveTasks", "CancelMessageMoveTask", "TagQueue", "UntagQueue",
        "ListQueueTags", "AddPermission", "RemovePermission",
    ]

    /// This endpoint's one action beyond SQS's, CMQ's rewind, under its own target prefix (`X-Amz-Target:
    /// HongbaoSQS.RewindQueue`) so that no action Amazon adds can collide with it. Parameters: `QueueUrl`, `Seconds`
    /// (1 to the queue's `HongbaoRewindSeconds` attribute). Answers `{"RewoundMessages": n}`.
    public static let rewindTarget = "HongbaoSQS.RewindQueue"
    /// The queue attribute that turns rewinding on: how far back, in seconds (0, the default, is off).
    public static let rewindAttribute = "HongbaoRewindSeconds"

    func perform(_ action: String, _ p: Parameters, _ c: Context) async throws -> [String: Any] {
        switch action {
        case SQSEndpoint.rewindTarget: return try await rewindQueue(p, c)
        case "CreateQueue": return try await createQueue(p, c)
        case "GetQueueUrl": return try await getQueueURL(p, c)
        case "ListQueues": return try await listQueues(p, c)
        case "DeleteQueue": return try await deleteQueue(p, c)
        case "GetQueueAttributes": return try await getQueueAttributes(p, c)
        case "SetQueueAttributes": return try await setQueueAttributes(p, c)
        case "SendMessage": return try await sendMessage(p, c)
        case "SendMessageBatch": return try await sendMessageBatch(p, c)
        case "ReceiveMessage": return try await receiveMessage(p, c)
        case "DeleteMessage": return try await deleteMessage(p, c)
        case "DeleteMessageBatch": return try await deleteMessageBatch(p, c)
        case "ChangeMessageVisibility": return try await changeVisibility(p, c)
        case "ChangeMessageVisibilityBatch": return try await changeVisibilityBatch(p, c)
        case "PurgeQueue": return try await purgeQueue(p, c)
        case "ListDeadLetterSourceQueues": return try await listDeadLetterSources(p, c)
        case "StartMessageMoveTask": return try await startMoveTask(p, c)
        case "ListMessageMoveTasks": return try await listMoveTasks(p, c)
        case "CancelMessageMoveTask": return try cancelMoveTask(p, c)
        case "TagQueue": return try await tagQueue(p, c)
        case "UntagQueue": return try await untagQueue(p, c)
        case "ListQueueTags": return try await listQueueTags(p, c)
        default: throw SQSError.unsupported(action)
        }
    }

    // MARK: Names, URLs, ARNs

    func url(_ name: String, _ c: Context) -> String { "\(c.baseURL)/\(SQSEndpoint.accountID)/\(name)" }

    func arn(_ name: String, _ c: Context) -> String { "arn:aws:sqs:\(c.region):\(SQSEndpoint.accountID):\(name)" }

    /// The queue a `QueueUrl` names (its last path segment); it must exist.
    func queueName(_ p: Parameters) async throws -> String {
        try await queue(p).name
    }

    /// The queue `QueueUrl` names, which must exist, with its attributes (one call to the queue service).
    func queue(_ p: Parameters) async throws -> (name: String, attributes: QueueAttributes) {
        let url = try p.required("QueueUrl")
        let name = url.split(separator: "/").last.map(String.init) ?? ""
        guard !name.isEmpty, let attributes = try? await service.attributes(of: name) else { throw SQSError.queueDoesNotExist }
        return (name, attributes)
    }

    /// The queue an ARN names (its last `:` segment), which must exist.
    func queueName(arn: String) async throws -> String {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "sqs" else {
            throw SQSError.invalidParameter("Value \(arn) for parameter SourceArn is invalid. Reason: not an SQS queue ARN.")
        }
        let name = String(parts[5])
        guard await service.listQueues().contains(name) else { throw SQSError.queueDoesNotExist }
        return name
    }

    static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= SQSLimits.maxQueueNameLength && name.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "-" || $0 == "_"
        }
    }

    // MARK: Queues

    func createQueue(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try p.required("QueueName")
        let requested = try p.stringMap("Attributes")
        let tags = try p.stringMap("tags")
        let base = name.hasSuffix(".fifo") ? String(name.dropLast(".fifo".count)) : name
        guard SQSEndpoint.validName(base), name.count <= SQSLimits.maxQueueNameLength else {
            throw SQSError.invalidParameter("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
        }
        let fifo = requested["FifoQueue"]?.trimmingCharacters(in: .whitespaces).lowercased() == "true"
        if fifo != name.hasSuffix(".fifo") {
            throw SQSError.invalidParameter(fifo
                ? "Queue name must end in .fifo for FIFO queues"
                : "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length (and needs the attribute FifoQueue=true).")
        }
        try checkTags(tags, queue: name)
        let names = await service.listQueues()
        if names.contains(name) {
            let existing = try await service.attributes(of: name)
            var candidate = existing
            try await QueueAttributeMapping.apply(requested, to: &candidate, queue: name, service: service, creating: true)
            candidate.tags = existing.tags
            candidate.properties["LastModifiedTimestamp"] = existing.properties["LastModifiedTimestamp"]
            guard candidate == existing else {
                throw SQSError(type: "QueueNameExists", queryCode: "QueueAlreadyExists",
                               message: "A queue already exists with the same name and a different value for attribute(s): \(requested.keys.sorted().joined(separator: ", "))")
            }
            return ["QueueUrl": url(name, c)]
        }
        var attributes = QueueAttributes(limits: service.limits)
        attributes.maxMessageSizeBytes = min(SQSLimits.maxMessageSize, service.limits.maxMessageSizeBytes)
        try await QueueAttributeMapping.apply(requested, to: &attributes, queue: name, service: service, creating: true)
        attributes.tags = tags
        do {
            try await service.createQueue(name, attributes: attributes)
        } catch .duplicateQueue {
            // Created by a concurrent request meanwhile: SQS answers with its URL too.
        } catch {
            throw SQSError(error)
        }
        return ["QueueUrl": url(name, c)]
    }

    func getQueueURL(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try p.required("QueueName")
        guard await service.listQueues().contains(name) else { throw SQSError.queueDoesNotExist }
        return ["QueueUrl": url(name, c)]
    }

    func listQueues(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let prefix = try p.string("QueueNamePrefix") ?? ""
        let maxResults = try p.int("MaxResults")
        if let maxResults, !(1...1000).contains(maxResults) {
            throw SQSError.invalidParameter("Value \(maxResults) for parameter MaxResults is invalid. Reason: must be between 1 and 1000.")
        }
        var names = await service.listQueues().filter { $0.hasPrefix(prefix) }
        if let token = try p.string("NextToken") {
            guard let after = String(data: Data(base64Encoded: token) ?? Data(), encoding: .utf8) else {
                throw SQSError.invalidParameter("Invalid NextToken.")
            }
            names = names.filter { $0 > after }
        }
        var result: [String: Any] = [:]
        let limit = maxResults ?? 1000
        let page = Array(names.prefix(limit))
        if !page.isEmpty { result["QueueUrls"] = page.map { url($0, c) } }
        if maxResults != nil, names.count > page.count, let last = page.last {
            result["NextToken"] = Data(last.utf8).base64EncodedString()
        }
        return result
    }

    func deleteQueue(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try await queueName(p)
        do {
            try await service.deleteQueue(name)
        } catch {
            throw SQSError(error)
        }
        return [:]
    }

    func getQueueAttributes(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try await queueName(p)
        let requested = try p.strings("AttributeNames")
        let attributes = try await service.attributes(of: name)
        let counters = try await service.counters(of: name)
        let created = try await service.createdAt(of: name)
        let all = QueueAttributeMapping.describe(
            attributes, counters: counters, createdAt: created, arn: arn(name, c),
            deadLetterArn: { self.arn($0, c) })
        var out: [String: String] = [:]
        for key in requested {
            if key == "All" {
                out.merge(all) { a, _ in a }
            } else if let value = all[key] {
                out[key] = value
            } else if !QueueAttributeMapping.readable.contains(key) {
                throw SQSError.invalidAttributeName(key)
            }
        }
        return out.isEmpty ? [:] : ["Attributes": out]
    }

    func setQueueAttributes(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try await queueName(p)
        let requested = try p.stringMap("Attributes")
        var attributes = try await service.attributes(of: name)
        try await QueueAttributeMapping.apply(requested, to: &attributes, queue: name, service: service, creating: false)
        attributes.properties["LastModifiedTimestamp"] = String(Int(Date().timeIntervalSince1970))
        do {
            try await service.setAttributes(name, attributes)
        } catch {
            throw SQSError(error)
        }
        return [:]
    }

    func rewindQueue(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try await queueName(p)
        guard let seconds = try p.int("Seconds") else { throw SQSError.missingParameter("Seconds") }
        guard seconds >= 1, seconds <= SQSLimits.maxRetentionSeconds else {
            throw SQSError.invalidParameter("Value \(seconds) for parameter Seconds is invalid. Reason: must be between 1 and \(SQSLimits.maxRetentionSeconds).")
        }
        do {
            return ["RewoundMessages": try await service.rewind(name, window: .seconds(seconds))]
        } catch {
            throw SQSError(error)
        }
    }

    func purgeQueue(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try await queueName(p)
        do {
            try await service.purgeQueue(name)
        } catch {
            throw SQSError(error)
        }
        return [:]
    }

    func listDeadLetterSources(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try await queueName(p)
        let sources = try await service.deadLetterSources(of: name)
        return ["queueUrls": sources.map { url($0, c) }]
    }

    // MARK: Tags

    func checkTags(_ tags: [String: String], queue: String) throws(SQSError) {
        guard tags.count <= SQSLimits.maxTags else {
            throw SQSError.invalidParameter("Too many tags added for queue \(queue).")
        }
        for (key, value) in tags {
            guard !key.isEmpty, key.count <= 128 else {
                throw SQSError.invalidParameter("Tag keys must be between 1 and 128 characters in length.")
            }
            guard value.count <= 256 else {
                throw SQSError.invalidParameter("Tag values must be at most 256 characters in length.")
            }
        }
    }

    func tagQueue(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try await queueName(p)
        let tags = try p.stringMap("Tags")
        guard !tags.isEmpty else { throw SQSError.missingParameter("Tags") }
        var attributes = try await service.attributes(of: name)
        attributes.tags.merge(tags) { _, new in new }
        try checkTags(attributes.tags, queue: name)
        do { try await service.setAttributes(name, attributes) } catch { throw SQSError(error) }
        return [:]
    }

    func untagQueue(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try await queueName(p)
        let keys = try p.strings("TagKeys")
        guard !keys.isEmpty else { throw SQSError.invalidParameter("Tag keys must be between 1 and 128 characters in length.") }
        var attributes = try await service.attributes(of: name)
        for key in keys { attributes.tags[key] = nil }
        do { try await service.setAttributes(name, attributes) } catch { throw SQSError(error) }
        return [:]
    }

    func listQueueTags(_ p: Parameters, _ c: Context) async throws -> [String: Any] {
        let name = try await queueName(p)
        let tags = try await service.attributes(of: name).tags
        return tags.isEmpty ? [:] : ["Tags": tags]
    }
}
