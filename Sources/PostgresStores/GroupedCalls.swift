import Synchronization

/// Calls of one kind that arrive while earlier ones are on their way to the server, gathered into one
/// statement: up to `maxBatch` items go in each, and up to `concurrentBatches` statements are under way at
/// once, so a call waits for at most the statements ahead of it and never for a timer. `run` gets the items
/// in arrival order and returns one answer per item, in the same order; when it throws, every call in that
/// batch gets the error (`run` itself retries what may be retried: the statements it sends are idempotent).
/// With a `profile`, each call's wait for a statement (`<step>.queued`), each statement (`<step>.batch`, with
/// its items) and each call's whole time (`<step>.total`) are counted there.
final class GroupedCalls<Item: Sendable, Answer: Sendable>: Sendable {
    private struct Pending {
        let item: Item
        let continuation: CheckedContinuation<Answer, any Error>
        let submitted = ContinuousClock.now
    }

    private struct State {
        var queue: [Pending] = []
        var running = 0
    }

    private let maxBatch: Int
    private let concurrentBatches: Int
    private let profile: (profile: PostgresProfile, step: String)?
    private let run: @Sendable ([Item]) async throws -> [Answer]
    private let state = Mutex(State())
    private let batches = Atomic<Int>(0)
    private let answered = Atomic<Int>(0)

    init(maxBatch: Int, concurrentBatches: Int, profile: (profile: PostgresProfile, step: String)? = nil,
         run: @escaping @Sendable ([Item]) async throws -> [Answer]) {
        self.maxBatch = max(1, maxBatch)
        self.concurrentBatches = max(1, concurrentBatches)
        self.profile = profile
        self.run = run
    }

    /// How many statements have been sent (each with one or more calls' items).
    var batchCount: Int { batches.load(ordering: .relaxed) }

    /// How many statements `run` answered (committed, for a statement in a transaction of its own).
    var answeredCount: Int { answered.load(ordering: .relaxed) }

    /// Calls waiting for a statement (not yet in one).
    var queued: Int { state.withLock { $0.queue.count } }

    func submit(_ item: Item) async throws -> Answer {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state -> Bool in
                state.queue.append(Pending(item: item, continuation: continuation))
                guard state.running < concurrentBatches else { return false }
                state.running += 1
                return true
            }
            if start { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Pending] in
                guard !state.queue.isEmpty else {
                    state.running -= 1
                    return []
                }
                let batch = Array(state.queue.prefix(maxBatch))
                state.queue.removeFirst(batch.count)
                return batch
            }
            if batch.isEmpty { return }
            batches.add(1, ordering: .relaxed)
            let taken = ContinuousClock.now
            if let (profile, step) = profile {
                for pending in batch { profile.record(step + ".queued", taken - pending.submitted) }
            }
            do {
                let answers = try await run(batch.map(\.item))
                answered.add(1, ordering: .relaxed)
                guard answers.count == batch.count else {
                    throw PostgresStoreError.server("a batch of \(batch.count) calls returned \(answers.count) answers")
                }
                let done = ContinuousClock.now
                if let (profile, step) = profile {
                    profile.record(step + ".batch", done - taken, items: batch.count)
                    for pending in batch { profile.record(step + ".total", done - pending.submitted) }
                }
                for (pending, answer) in zip(batch, answers) { pending.continuation.resume(returning: answer) }
            } catch {
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }
}

/// A batch's answers from `attempt`, or, when the server refuses the batch for a reason other than being out
/// of reach, from each half of it in turn, down to single items: a write the server refuses outright fails
/// alone (`failure` answers it) and the others still commit. A server out of reach for the whole retry
/// window (`PostgresStoreError.unavailable`) is every item's failure at once: halves would only wait that
/// long again, one after the other.
func bisectingRefusals<Item, Answer>(
    _ items: [Item], _ attempt: ([Item]) async throws -> [Answer], failure: (Item, any Error) -> Answer
) async -> [Answer] {
    do {
        return try await attempt(items)
    } catch {
        if case PostgresStoreError.unavailable = error { return items.map { failure($0, error) } }
        guard items.count > 1 else { return items.map { failure($0, error) } }
        let half = items.count / 2
        return await bisectingRefusals(Array(items[..<half]), attempt, failure: failure)
            + bisectingRefusals(Array(items[half...]), attempt, failure: failure)
    }
}
