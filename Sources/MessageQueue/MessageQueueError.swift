/// Why a queue verb or the opening of a queue failed. A verb that throws changed nothing.
public enum MessageQueueError: Error, Equatable, Sendable {
    /// No queue has this name.
    case unknownQueue(String)
    /// A queue with this name already exists.
    case duplicateQueue(String)
    /// A queue name is empty, too long, or uses characters other than letters, digits, `-` and `_` (before an
    /// optional `.fifo`).
    case invalidQueueName(String)
    /// The queue is the dead-letter queue of another queue and cannot be deleted first.
    case queueInUse(name: String, by: String)
    /// A message body is empty.
    case emptyMessage
    /// A message body is larger than the queue allows.
    case messageTooLarge(sizeBytes: Int, limitBytes: Int)
    /// A caller-supplied message id is empty, too long, or holds a control or invisible character.
    case invalidMessageID(String)
    /// A batch holds more messages than allowed (or none).
    case invalidBatchSize(count: Int, limit: Int)
    /// A visibility timeout outside its range.
    case invalidVisibilityTimeout(Duration)
    /// A delivery delay outside its range.
    case invalidDelay(Duration)
    /// A long-poll wait outside its range.
    case invalidPollingWait(Duration)
    /// A retention period outside its range.
    case invalidRetention(Duration)
    /// A max receive count outside its range.
    case invalidMaxReceiveCount(Int)
    /// A per-queue message size limit outside its range.
    case invalidMessageSizeLimit(Int)
    /// A check-back delay (the wait before a half message's first check-back) outside its range.
    case invalidCheckBackDelay(Duration)
    /// A max check-back count outside its range.
    case invalidMaxCheckBacks(Int)
    /// A commit or rollback names no half message of this queue (never sent, already rolled back, or forged).
    case unknownHalfMessage(queue: String, id: String)
    /// A rollback names a message that was already committed (or sent as an ordinary message).
    case halfMessageAlreadyCommitted(queue: String, id: String)
    /// A rewind window outside zero (off) to the longest retention.
    case invalidRewindWindow(Duration, limit: Duration)
    /// A rewind on a queue that does not keep deleted messages (its rewind window is zero).
    case rewindNotEnabled(String)
    /// A rewind reaching further back than the queue's rewind window (or not back at all).
    case invalidRewind(Duration, window: Duration)
    /// A queue's name ends in `.fifo` but it is not a FIFO queue, or the other way round (or a change of
    /// attributes would turn one into the other).
    case fifoQueueName(String)
    /// A message for a FIFO queue names no message group.
    case missingMessageGroup
    /// A message group or deduplication id is empty, longer than 128 bytes, or holds a control character.
    case invalidFifoTag(String)
    /// Too many queues.
    case tooManyQueues(limit: Int)
    /// The receipt does not parse, or names no message of this queue.
    case unknownReceipt(String)
    /// The message was delivered again since this receipt was issued; only the newest receipt works.
    case staleReceipt(String)
    /// Fewer than the quorum of replicas are available: nothing was written or acknowledged.
    case noQuorum(available: Int, required: Int)
    /// A replica directory is missing while the other replicas hold data.
    case replicaDirectoryMissing(path: String)
    /// A replica directory cannot be created or written.
    case replicaDirectoryUnwritable(path: String, reason: String)
    /// A replica directory holds something that is not a queue replica.
    case replicaDirectoryGarbage(path: String, reason: String)
    /// No replica could be read: the queue cannot be recovered from this directory.
    case noHealthyReplica(path: String)
    /// The limits the queue was opened with contradict each other (for example a quorum above the replicas).
    case invalidLimits(String)
    /// A fault control was asked for something impossible (for example a latency out of range).
    case invalidFault(String)
    /// The storage failed in a way that is not one of the above.
    case storage(String)
}
