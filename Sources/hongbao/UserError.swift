import Engine
import Ledger
import RedPackets
import Foundation
import MessageQueue
import PostgresCluster
import PostgresStores
import Primitives
import Simulation

/// An error rendered for a person: one line, no stack trace, a stable exit code; and for tools (`--json`), a
/// stable code.
protocol CustomUserMessage: Error {
    var userMessage: String { get }
    var exitCode: Int32 { get }
    /// A stable identifier for `--json` errors: `usage`, `failed`, or `MODULE.case` for domain errors
    /// (`ledger.unknownAccount`, `queue.noQuorum`, `dataDirectory.inUse`…).
    var code: String { get }
}

/// The one place where domain errors become user text. Each module's error enum gets a case here.
struct UserError: CustomUserMessage {
    let userMessage: String
    let exitCode: Int32
    let code: String

    init(message: String, exitCode: Int32, code: String? = nil) {
        self.userMessage = message
        self.exitCode = exitCode
        self.code = code ?? (exitCode == 2 ? "usage" : "failed")
    }

    init(_ error: any Error) {
        var made = UserError(described: error)
        if !(error is UserError) { made = UserError(message: made.userMessage, exitCode: made.exitCode, code: UserError.code(of: error)) }
        self = made
    }

    /// `MODULE.case` from the error's type and enum case: stable as long as the case keeps its name.
    static func code(of error: any Error) -> String {
        let module: String
        switch error {
        case is DataDirectoryError: module = "dataDirectory"
        case is MoneyParseError: module = "amount"
        case is NumberError: return "usage"
        case is LedgerError: module = "ledger"
        case is PacketError: module = "packet"
        case is MessageQueueError: module = "queue"
        case is ScenarioFileError: return "scenario.invalid"
        case is LimitsError: return "limits.invalid"
        case is DeterministicSimulationError: module = "simulation"
        case is EngineError: return "store.unsupported"
        case let error as PostgresStoreError:
            switch error {
            case .unavailable: return "postgres.unavailable"
            case .badURL: return "postgres.badURL"
            default: return "postgres.failed"
            }
        case is ClusterError:
            // Its description is the user's sentence, not the case: the case's name comes from the mirror.
            return "cluster." + (Mirror(reflecting: error).children.first?.label ?? "error")
        default: return "failed"
        }
        let described = String(describing: error)
        let name = described.prefix { $0 != "(" && $0 != "." }
        return module + "." + (name.isEmpty ? "error" : String(name))
    }

    private init(described error: any Error) {
        switch error {
        case let error as UserError:
            self = error
        case let error as DataDirectoryError:
            self.init(message: UserError.text(error), exitCode: error.exitStatus)
        case let error as MoneyParseError:
            self.init(message: UserError.text(error), exitCode: ExitStatus.usage)
        case let error as NumberError:
            self.init(message: error.message, exitCode: ExitStatus.usage)
        case let error as LedgerError:
            self.init(message: UserError.text(error), exitCode: error.exitStatus)
        case let error as PacketError:
            self.init(message: UserError.text(error), exitCode: error.exitStatus)
        case let error as MessageQueueError:
            self.init(message: UserError.text(error), exitCode: error.exitStatus)
        case let error as ScenarioFileError:
            self.init(message: error.description, exitCode: ExitStatus.usage)
        case let error as LimitsError:
            self.init(message: error.description, exitCode: ExitStatus.usage)
        case let error as DeterministicSimulationError:
            self.init(message: UserError.text(error), exitCode: ExitStatus.checkFailed)
        case let error as ClusterError:
            self.init(message: error.description, exitCode: UserError.exitStatus(error))
        case let error as EngineError:
            self.init(message: error.description, exitCode: ExitStatus.usage)
        case let error as PostgresStoreError:
            switch error {
            case .badURL: self.init(message: error.description, exitCode: ExitStatus.usage)
            case .unavailable: self.init(message: error.description, exitCode: ExitStatus.unavailable)
            default: self.init(message: error.description, exitCode: ExitStatus.storage)
            }
        default:
            self.init(message: "\(error)", exitCode: ExitStatus.storage)
        }
    }

    static func text(_ error: DataDirectoryError) -> String {
        switch error {
        case let .inUse(path, pid):
            return "data directory \(path) is in use by " + (pid.map { "pid \($0)" } ?? "another process")
        case let .unwritable(path, reason):
            return "data directory \(path) is not writable: \(reason)"
        case let .notADirectory(path):
            return "\(path) is not a directory"
        case let .missing(path):
            return "there is no data directory at \(path) (nothing to show)"
        case let .emptyPath(source):
            return "\(source) is empty; name a data directory (or leave it unset for the default)"
        }
    }

    static func exitStatus(_ error: ClusterError) -> Int32 {
        switch error {
        case .noBinaries, .noServerUser, .portTaken, .timedOut, .cannotMake: return ExitStatus.unavailable
        case .noCluster, .unknownServer: return ExitStatus.notFound
        case .refused: return ExitStatus.refused
        case .foreignDirectory, .commandFailed, .settings: return ExitStatus.storage
        }
    }

    static func text(_ error: DeterministicSimulationError) -> String {
        switch error {
        case .engineNotRunning: return "deterministic simulation: the engine did not come back after a restart"
        case let .unexpected(step, detail): return "deterministic simulation stopped at step \(step): \(detail)"
        }
    }

    static func text(_ error: MoneyParseError) -> String {
        switch error {
        case .empty: return "an amount is required"
        case let .malformed(text): return "'\(text)' is not an amount (write it like 12.34)"
        case let .tooPrecise(text): return "'\(text)' has more than two decimals (the smallest unit is 0.01)"
        case let .outOfRange(text): return "'\(text)' is too large"
        case let .negative(text): return "'\(text)' is negative; amounts must be positive"
        }
    }

    static func text(_ error: LedgerError) -> String {
        switch error {
        case let .unknownAccount(name): return "no account named '\(name)'"
        case let .unknownAccountID(id): return "no account \(id)"
        case let .duplicateAccountName(name): return "an account named '\(name)' already exists"
        case let .invalidAccountName(name, reason): return "'\(name)' cannot be an account name: \(reason)"
        case let .invalidAmount(amount): return "\(amount.formatted) is not a valid amount"
        case .sameAccount: return "cannot transfer from an account to itself"
        case let .insufficientFunds(account, balance, needed):
            return "\(account) has \(balance.formatted), not enough for \(needed.formatted)"
        case let .idempotencyConflict(id): return "transfer \(id) was already made with different details"
        case let .voidedTransfer(id): return "transfer \(id) was voided when its send was settled as failed; it cannot be made"
        case let .corruptDatabase(path, reason): return "\(path) is damaged (\(reason)); restore it from a backup"
        case let .foreignDatabase(path): return "\(path) is not a Hongbao ledger or red-packet store; refusing to touch it"
        case let .missingDatabase(path): return "there is no ledger at \(path) yet (nothing to show)"
        case let .singleDatabaseLayout(path):
            return "\(path) keeps red packets inside the ledger (the layout before the account and red-packet systems were split); this version does not convert it: use a new data directory (--data), or the version that made it"
        case let .storage(message): return "storage error: \(message)"
        case .arithmeticOverflow: return "the amount would overflow a balance"
        }
    }

    static func text(_ error: PacketError) -> String {
        switch error {
        case let .unknownPacket(id): return "no red packet '\(id)'"
        case let .unknownAccount(name): return "no account named '\(name)'"
        case let .invalidAmount(amount): return "\(amount.formatted) is not a valid amount"
        case let .personalAmountTooLarge(amount, max):
            return "a personal packet holds at most \(max.formatted), not \(amount.formatted)"
        case let .groupAmountTooLarge(amount, max):
            return "a group packet holds at most \(max.formatted), not \(amount.formatted)"
        case let .sharesOutOfRange(shares, min, max): return "a group packet has \(min) to \(max) shares, not \(shares)"
        case let .totalBelowMinimum(total, shares, minimum):
            return "\(total.formatted) cannot make \(shares) shares of at least \(minimum.formatted)"
        case .sendToSelf: return "a personal packet cannot be sent to oneself"
        case let .invalidTimeToLive(duration):
            let limits = Limits.default.packets
            return "time to live \(duration.wholeMilliseconds / 1_000) s is out of range (\(limits.minTimeToLive.wholeMilliseconds / 1_000)"
                + " to \(NumberText.grouped(limits.maxTimeToLive.wholeMilliseconds / 1_000)) s)"
        case let .invalidGreeting(reason): return "the greeting cannot be used: \(reason)"
        case let .insufficientFunds(account, balance, needed):
            return "\(account) has \(balance.formatted), not enough for \(needed.formatted)"
        case let .sendCancelled(id):
            return "red packet \(id) was cancelled before its payment landed (the send took too long); nothing was paid"
        case let .expired(id): return "red packet \(id) has expired"
        case let .soldOut(id): return "every share of red packet \(id) is taken"
        case let .alreadyGrabbed(id, user): return "\(user) already grabbed a share of \(id)"
        case let .notGrabbed(id, user): return "\(user) has not grabbed a share of \(id); grab it first"
        case let .notRecipient(id, user): return "red packet \(id) is personal and not for \(user)"
        }
    }
}

extension LedgerError {
    var isStorage: Bool {
        switch self {
        case .corruptDatabase, .foreignDatabase, .missingDatabase, .singleDatabaseLayout, .storage: return true
        default: return false
        }
    }

    var exitStatus: Int32 {
        switch self {
        case .unknownAccount, .unknownAccountID, .missingDatabase: return ExitStatus.notFound
        case .invalidAccountName, .invalidAmount: return ExitStatus.usage
        case .duplicateAccountName, .sameAccount, .insufficientFunds, .idempotencyConflict, .voidedTransfer,
             .arithmeticOverflow:
            return ExitStatus.refused
        case .corruptDatabase, .foreignDatabase, .singleDatabaseLayout, .storage: return ExitStatus.storage
        }
    }
}

extension PacketError {
    var exitStatus: Int32 {
        switch self {
        case .unknownPacket, .unknownAccount: return ExitStatus.notFound
        case .invalidAmount, .personalAmountTooLarge, .groupAmountTooLarge, .sharesOutOfRange, .totalBelowMinimum,
             .sendToSelf, .invalidTimeToLive, .invalidGreeting:
            return ExitStatus.usage
        case .insufficientFunds, .sendCancelled, .expired, .soldOut, .alreadyGrabbed, .notGrabbed, .notRecipient:
            return ExitStatus.refused
        }
    }
}

extension UserError {
    static func text(_ error: MessageQueueError) -> String {
        switch error {
        case let .unknownQueue(name): return "no queue named '\(name)'"
        case let .duplicateQueue(name): return "a queue named '\(name)' already exists"
        case let .invalidQueueName(name):
            return "'\(name)' is not a queue name (1-64 letters, digits, '-' or '_')"
        case let .queueInUse(name, user): return "queue '\(name)' is the dead-letter queue of '\(user)'; delete that first"
        case .emptyMessage: return "a message needs a body"
        case let .messageTooLarge(size, limit): return "the message is \(size) bytes; this queue takes at most \(limit)"
        case let .invalidMessageID(id):
            return "'\(TerminalText.quoted(id))' is not a message id (1-128 bytes, no control or invisible characters)"
        case let .invalidBatchSize(count, limit): return "a batch holds 1 to \(limit) messages, not \(count)"
        case let .invalidVisibilityTimeout(value): return "visibility timeout \(seconds(value)) is out of range (1 s to 12 h)"
        case let .invalidDelay(value): return "delay \(seconds(value)) is out of range (0 to 1 h)"
        case let .invalidPollingWait(value): return "wait \(seconds(value)) is out of range (0 to 30 s)"
        case let .invalidRetention(value): return "retention \(seconds(value)) is out of range (1 min to 15 days)"
        case let .invalidMaxReceiveCount(value): return "max receive count \(value) is out of range (1 to 1000)"
        case let .invalidMessageSizeLimit(value): return "max message size \(value) is out of range (1024 to 65536 bytes)"
        case let .invalidCheckBackDelay(value): return "check-back delay \(seconds(value)) is out of range (1 s to 12 h)"
        case let .invalidMaxCheckBacks(value): return "max check-backs \(value) is out of range (1 to 1000)"
        case let .unknownHalfMessage(queue, id): return "queue '\(queue)' holds no half message '\(id)'"
        case let .halfMessageAlreadyCommitted(queue, id):
            return "message '\(id)' of queue '\(queue)' is committed already; it cannot be rolled back"
        case let .invalidRewindWindow(value, limit):
            return "rewind window \(seconds(value)) is out of range (0, off, to \(limit.components.seconds) s)"
        case let .rewindNotEnabled(queue):
            return "queue '\(queue)' does not keep deleted messages; give it a rewind window first (queue set \(queue) --rewind-window SECONDS)"
        case let .invalidRewind(value, window):
            return "a rewind reaches back 1 s to the queue's rewind window (\(window.components.seconds) s), not \(seconds(value))"
        case let .fifoQueueName(name):
            return "queue '\(name)': a FIFO queue's name ends in .fifo, and only a FIFO queue's does"
        case .missingMessageGroup: return "a FIFO queue needs a message group for every message"
        case let .invalidFifoTag(tag):
            return "message group or deduplication id '\(tag)' must be 1 to 128 bytes without control characters"
        case let .tooManyQueues(limit): return "there are already \(limit) queues"
        case let .unknownReceipt(receipt): return "receipt '\(receipt)' names no message received from this queue"
        case let .staleReceipt(receipt):
            return "receipt '\(receipt)' is stale: the message was delivered again since; use the newest receipt"
        case let .noQuorum(available, required):
            return "no quorum: \(available) replica(s) available, \(required) needed; nothing was written"
        case let .replicaDirectoryMissing(path): return "replica directory \(path) is missing while the others hold data"
        case let .replicaDirectoryUnwritable(path, reason): return "replica directory \(path) is not writable: \(reason)"
        case let .replicaDirectoryGarbage(path, reason): return "\(path) is not a queue replica (\(reason)); refusing to touch it"
        case let .noHealthyReplica(path): return "no replica under \(path) can be read; the queue cannot be recovered"
        case let .invalidLimits(reason): return "inconsistent limits: \(reason)"
        case let .invalidFault(reason): return "fault control: \(reason)"
        case let .storage(reason): return "queue storage failed: \(reason)"
        }
    }

    private static func seconds(_ duration: Duration) -> String {
        "\(duration.wholeMilliseconds / 1_000).\(String(format: "%03d", abs(duration.wholeMilliseconds % 1_000))) s"
    }
}

extension MessageQueueError {
    var exitStatus: Int32 {
        switch self {
        case .unknownQueue, .unknownReceipt, .unknownHalfMessage: return ExitStatus.notFound
        case .invalidQueueName, .emptyMessage, .messageTooLarge, .invalidMessageID, .invalidBatchSize,
             .invalidVisibilityTimeout, .invalidDelay, .invalidPollingWait, .invalidRetention, .invalidMaxReceiveCount,
             .invalidMessageSizeLimit, .invalidCheckBackDelay, .invalidMaxCheckBacks, .invalidFault, .invalidLimits,
             .invalidRewindWindow, .invalidRewind, .fifoQueueName, .missingMessageGroup, .invalidFifoTag:
            return ExitStatus.usage
        case .duplicateQueue, .queueInUse, .tooManyQueues, .staleReceipt, .halfMessageAlreadyCommitted, .rewindNotEnabled:
            return ExitStatus.refused
        case .noQuorum: return ExitStatus.unavailable
        case .replicaDirectoryMissing, .replicaDirectoryUnwritable, .replicaDirectoryGarbage, .noHealthyReplica, .storage:
            return ExitStatus.storage
        }
    }
}

extension DataDirectoryError {
    var isInUse: Bool {
        if case .inUse = self { return true }
        return false
    }

    var exitStatus: Int32 {
        switch self {
        case .emptyPath: return ExitStatus.usage
        case .missing: return ExitStatus.notFound
        case .inUse, .unwritable, .notADirectory: return ExitStatus.unavailable
        }
    }
}
