import MessageQueue

/// An error as Amazon SQS reports it over the AWS JSON 1.0 protocol: an HTTP status, the short error type
/// (`__type` in the body, `com.amazonaws.sqs#<type>`), the code the older query protocol used (sent in the
/// `x-amzn-query-error` header, which SDKs prefer as the error code) and a message.
public struct SQSError: Error, Equatable, Sendable {
    public var status: Int
    public var type: String
    public var queryCode: String
    public var message: String
    /// True when the caller is at fault (`Sender`), false for the server (`Receiver`).
    public var senderFault: Bool

    public init(status: Int = 400, type: String, queryCode: String? = nil, message: String, senderFault: Bool = true) {
        self.status = status
        self.type = type
        self.queryCode = queryCode ?? type
        self.message = message
        self.senderFault = senderFault
    }

    /// The `x-amzn-query-error` header's value.
    public var queryErrorHeader: String { "\(queryCode);\(senderFault ? "Sender" : "Receiver")" }

    public static func invalidParameter(_ message: String) -> SQSError {
        SQSError(type: "InvalidParameterValue", message: message)
    }

    public static func missingParameter(_ name: String) -> SQSError {
        SQSError(type: "MissingParameter", message: "The request must contain the parameter \(name).")
    }

    public static let queueDoesNotExist = SQSError(
        type: "QueueDoesNotExist", queryCode: "AWS.SimpleQueueService.NonExistentQueue",
        message: "The specified queue does not exist.")

    public static func invalidReceipt(_ handle: String) -> SQSError {
        SQSError(type: "ReceiptHandleIsInvalid", message: "The input receipt handle \"\(handle)\" is not a valid receipt handle.")
    }

    public static func invalidAttributeName(_ name: String) -> SQSError {
        SQSError(type: "InvalidAttributeName", message: "Unknown Attribute \(name).")
    }

    public static func invalidAttributeValue(_ name: String, _ reason: String) -> SQSError {
        SQSError(type: "InvalidAttributeValue", message: "Invalid value for the parameter \(name). Reason: \(reason)")
    }

    public static func emptyBatch(_ entry: String = "SendMessageBatchRequestEntry") -> SQSError {
        SQSError(type: "EmptyBatchRequest", queryCode: "AWS.SimpleQueueService.EmptyBatchRequest",
                 message: "There should be at least one \(entry) in the request.")
    }

    public static func tooManyEntries(_ count: Int) -> SQSError {
        SQSError(
            type: "TooManyEntriesInBatchRequest", queryCode: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            message: "Maximum number of entries per request are 10. You have sent \(count).")
    }

    public static func batchIDsNotDistinct(_ id: String) -> SQSError {
        SQSError(type: "BatchEntryIdsNotDistinct", queryCode: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                 message: "Id \(id) repeated.")
    }

    public static let invalidBatchEntryID = SQSError(
        type: "InvalidBatchEntryId", queryCode: "AWS.SimpleQueueService.InvalidBatchEntryId",
        message: "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")

    public static func batchTooLong(_ size: Int) -> SQSError {
        SQSError(
            type: "BatchRequestTooLong", queryCode: "AWS.SimpleQueueService.BatchRequestTooLong",
            message: "Batch requests cannot be longer than \(SQSLimits.maxMessageSize) bytes. You have sent \(size) bytes.")
    }

    public static func unknownOperation(_ target: String) -> SQSError {
        SQSError(type: "UnknownOperationException", queryCode: "InvalidAction",
                 message: "The action or operation requested is invalid: \(target.isEmpty ? "(none)" : target).")
    }

    public static func unsupported(_ action: String) -> SQSError {
        SQSError(type: "UnsupportedOperation", queryCode: "AWS.SimpleQueueService.UnsupportedOperation",
                 message: "\(action) is not supported by this endpoint.")
    }

    public static func serialization(_ reason: String) -> SQSError {
        SQSError(type: "SerializationException", queryCode: "MalformedInput", message: reason)
    }

    public static let missingAuthentication = SQSError(
        status: 403, type: "MissingAuthenticationToken", message: "Request is missing Authentication Token")

    public static func incompleteSignature(_ reason: String) -> SQSError {
        SQSError(status: 403, type: "IncompleteSignature", message: reason)
    }

    public static let invalidClientToken = SQSError(
        status: 403, type: "InvalidClientTokenId", message: "The security token included in the request is invalid.")

    public static let signatureMismatch = SQSError(
        status: 403, type: "SignatureDoesNotMatch",
        message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")

    public static func signatureExpired(_ reason: String) -> SQSError {
        SQSError(status: 403, type: "SignatureDoesNotMatch", message: "Signature expired: \(reason)")
    }

    public static func tooLarge(_ limit: Int) -> SQSError {
        SQSError(status: 413, type: "RequestEntityTooLarge", message: "The request body is larger than \(limit) bytes.")
    }

    public static let requestTimeout = SQSError(
        status: 408, type: "RequestTimeout", message: "The request took too long and was abandoned.")

    public static func internalError(_ reason: String) -> SQSError {
        SQSError(status: 500, type: "InternalError", queryCode: "InternalFailure",
                 message: "We encountered an internal error. Please try again. (\(reason))", senderFault: false)
    }

    public static func unavailable(_ reason: String) -> SQSError {
        SQSError(status: 503, type: "ServiceUnavailable", message: reason, senderFault: false)
    }

    /// The SQS error for a refusal of the queue.
    public init(_ error: MessageQueueError) {
        switch error {
        case .unknownQueue:
            self = .queueDoesNotExist
        case .duplicateQueue(let name):
            self = SQSError(type: "QueueNameExists", queryCode: "QueueAlreadyExists",
                            message: "A queue already exists with the same name and a different value for attribute(s): \(name)")
        case .invalidQueueName:
            self = .invalidParameter("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
        case .queueInUse(let name, let user):
            self = .invalidParameter("Queue \(name) is the dead-letter queue of \(user); change that queue's RedrivePolicy first.")
        case .emptyMessage:
            self = .missingParameter("MessageBody")
        case .messageTooLarge(_, let limit):
            self = .invalidParameter("One or more parameters are invalid. Reason: Message must be shorter than \(limit) bytes.")
        case .invalidMessageID(let id):
            self = .internalError("message id \(id) refused")
        case .invalidBatchSize(let count, _):
            self = count == 0 ? .emptyBatch() : .tooManyEntries(count)
        case .invalidVisibilityTimeout(let value):
            self = .invalidParameter("Value \(value.components.seconds) for parameter VisibilityTimeout is invalid. Reason: must be between 0 and 43200.")
        case .invalidDelay(let value):
            self = .invalidParameter("Value \(value.components.seconds) for parameter DelaySeconds is invalid. Reason: must be between 0 and 900.")
        case .invalidPollingWait(let value):
            self = .invalidParameter("Value \(value.components.seconds) for parameter WaitTimeSeconds is invalid. Reason: must be <= 0 and >= 20.")
        case .invalidRetention:
            self = .invalidAttributeValue("MessageRetentionPeriod", "must be between 60 and 1209600")
        case .invalidMaxReceiveCount:
            self = .invalidParameter("Value for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: must be between 1 and 1000.")
        case .invalidMessageSizeLimit:
            self = .invalidAttributeValue("MaximumMessageSize", "must be between 1024 and 1048576")
        case .invalidCheckBackDelay, .invalidMaxCheckBacks, .unknownHalfMessage, .halfMessageAlreadyCommitted:
            self = .invalidParameter("\(error)")
        case .invalidRewindWindow(_, let limit):
            self = .invalidAttributeValue(SQSEndpoint.rewindAttribute, "must be between 0 and \(limit.components.seconds)")
        case .rewindNotEnabled(let queue):
            self = .invalidParameter("Queue \(queue) does not keep deleted messages: set its \(SQSEndpoint.rewindAttribute) attribute first.")
        case .invalidRewind(_, let window):
            self = .invalidParameter("Value for parameter Seconds is invalid. Reason: must be between 1 and the queue's \(SQSEndpoint.rewindAttribute) (\(window.components.seconds)).")
        case .fifoQueueName:
            self = .invalidParameter("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length")
        case .missingMessageGroup:
            self = .missingParameter("MessageGroupId")
        case .invalidFifoTag(let tag):
            self = .invalidParameter("Value \(tag) for parameter MessageGroupId or MessageDeduplicationId is invalid. Reason: 1 to 128 characters without control characters.")
        case .tooManyQueues(let limit):
            self = SQSError(status: 403, type: "OverLimit", message: "This endpoint holds at most \(limit) queues.")
        case .unknownReceipt(let handle), .staleReceipt(let handle):
            self = .invalidReceipt(handle)
        case .noQuorum(let available, let required):
            self = .unavailable("Only \(available) of the queue's replicas are up; \(required) must hold every change. Nothing was written.")
        case .replicaDirectoryMissing, .replicaDirectoryUnwritable, .replicaDirectoryGarbage, .noHealthyReplica,
             .invalidFault, .invalidLimits, .storage:
            self = .internalError("\(error)")
        }
    }
}
