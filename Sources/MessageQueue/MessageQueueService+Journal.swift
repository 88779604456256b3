import Primitives

/// The queue on a journal (`QueueJournal`) instead of its three SQLite replicas: the same verbs, the same
/// in-memory state and the same group commit, each group one transaction in the journal, acknowledged when
/// the journal has it. A group the journal refuses or loses is answered with an error, and the state is read
/// back from the journal, so that memory never holds what the journal does not.
extension MessageQueueService {
    /// Opens the queue kept in `journal` (its state read back from it).
    public static func open(
        journal: any QueueJournal, limits: QueueLimits = QueueLimits(), clock: any WallClock = SystemClock(),
        random: any RandomSource = SystemRandomSource(), checkBackTimer: Bool = true
    ) async throws(MessageQueueError) -> MessageQueueService {
        do {
            try limits.validate()
        } catch {
            throw .invalidLimits(error.reason)
        }
        let state: QueueState
        do {
            state = try await journal.load(limits: limits)
        } catch {
            throw .storage("cannot read the queue from \(journal.location): \(error)")
        }
        return MessageQueueService(
            rootPath: journal.location, limits: limits, clock: clock, random: random, replicas: [], quorum: 0,
            state: state, runsCheckBackTimer: checkBackTimer, journal: journal)
    }

    /// Stores one group in the journal; the error to answer its callers with when it did not.
    func append(_ group: [QueueOperation], to journal: any QueueJournal) async -> MessageQueueError? {
        guard let first = group.first?.sequence else { return nil }
        do {
            try await journal.append(group, after: first - 1)
            return nil
        } catch let moved as QueueJournalMoved {
            return .storage("\(moved); try again")
        } catch {
            return .storage("\(journal.location): \(error)")
        }
    }

    /// A group was not stored: its callers and every caller queued behind it fail (their operations were
    /// decided on a state the journal does not have), and the state is read back from the journal. Callers
    /// arriving meanwhile queue behind this leader (`flushing` stays set) and fail with the rest.
    func recoverFromJournal(_ journal: any QueueJournal, failing error: MessageQueueError) async {
        failQueuedCallers(error)
        await reload(from: journal)
        failQueuedCallers(error)
        flushing = false
    }

    /// Replaces the state with the journal's. When the journal cannot be read, every verb is refused with the
    /// reason, and a task tries again every quarter second until it can.
    private func reload(from journal: any QueueJournal) async {
        do {
            replaceState(with: try await journal.load(limits: limits))
            journalUnreadable = nil
            for name in state.queueNames { pollers.wakeAll(of: name) }
        } catch {
            journalUnreadable = "the queue cannot be read back from \(journal.location) after a failed commit: \(error)"
            guard journalReload == nil, !isClosed else { return }
            journalReload = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(250))
                    guard let self, await self.retryReload(journal) else { return }
                }
            }
        }
    }

    /// One more try of a failed reload, unless a commit is under way; whether to keep trying.
    private func retryReload(_ journal: any QueueJournal) async -> Bool {
        guard !isClosed, journalUnreadable != nil else {
            journalReload = nil
            return false
        }
        guard !flushing else { return true }
        flushing = true
        await reload(from: journal)
        failQueuedCallers(.storage(journalUnreadable ?? "the queue was read back from \(journal.location); try again"))
        flushing = false
        guard journalUnreadable == nil else { return true }
        journalReload = nil
        return false
    }

    /// How the journal's stored state differs from the acknowledged one (an audit of the queue on a journal),
    /// once the commits under way are done. One line per difference.
    func journalDisagreements(_ journal: any QueueJournal) async -> [String] {
        let expected = state
        let stored: QueueState
        do {
            stored = try await journal.load(limits: limits)
        } catch {
            return ["\(journal.location) cannot be read: \(error)"]
        }
        // Verbs may have run while the journal was read: compare with the state as it was when the read began,
        // unless the journal already holds more.
        guard stored.lastSequence == expected.lastSequence else {
            return stored.lastSequence > expected.lastSequence
                ? ["\(journal.location) holds operations up to \(stored.lastSequence), this process acknowledged \(expected.lastSequence): another process writes it"]
                : MessageQueueService.differences(stored, expected, replica: journal.location)
        }
        return MessageQueueService.halfMessageConflicts(expected)
            + MessageQueueService.differences(stored, expected, replica: journal.location)
    }
}
