import Foundation
import Synchronization

/// What external clients are doing, for the dashboard: requests per second by action over the last
/// `windowSeconds`, refusals by error code, and open connections. Thread-safe; cheap to record.
public final class SQSTraffic: Sendable {
    /// Requests of one action per second.
    public struct ActionRate: Sendable, Equatable {
        public var action: String
        public var rate: Double
    }

    /// How often one error code was answered.
    public struct ErrorCount: Sendable, Equatable {
        public var code: String
        public var count: Int
    }

    public struct Snapshot: Sendable, Equatable {
        /// Requests per second by action over the window, busiest first.
        public var requestsPerSecond: [ActionRate]
        /// Errors per second over the window.
        public var errorsPerSecond: Double
        /// Totals since the endpoint started.
        public var requests: Int
        public var errors: Int
        /// The error codes answered since the start, most frequent first.
        public var errorCodes: [ErrorCount]
        public var openConnections: Int
        public var address: String
    }

    struct State {
        var buckets: [Int64: [String: Int]] = [:]
        var errorBuckets: [Int64: Int] = [:]
        var requests = 0
        var errors = 0
        var errorCodes: [String: Int] = [:]
        var openConnections = 0
        var address = ""
    }

    public let windowSeconds: Int64
    private let state = Mutex(State())

    public init(windowSeconds: Int = 10) {
        self.windowSeconds = Int64(max(1, windowSeconds))
    }

    /// Records one answered request (`errorCode` nil when it succeeded).
    public func record(action: String, errorCode: String?, at now: Date = Date()) {
        let second = Int64(now.timeIntervalSince1970)
        let window = windowSeconds
        state.withLock { state in
            state.buckets[second, default: [:]][action, default: 0] += 1
            state.requests += 1
            if let errorCode {
                state.errors += 1
                state.errorBuckets[second, default: 0] += 1
                state.errorCodes[errorCode, default: 0] += 1
            }
            if state.buckets.count > Int(window) + 2 {
                state.buckets = state.buckets.filter { $0.key > second - window - 1 }
                state.errorBuckets = state.errorBuckets.filter { $0.key > second - window - 1 }
            }
        }
    }

    public func connectionOpened() { state.withLock { $0.openConnections += 1 } }
    public func connectionClosed() { state.withLock { $0.openConnections = max(0, $0.openConnections - 1) } }
    public var openConnections: Int { state.withLock { $0.openConnections } }
    public func setAddress(_ address: String) { state.withLock { $0.address = address } }

    /// Rates over the complete seconds of the window before `now`.
    public func snapshot(at now: Date = Date()) -> Snapshot {
        let second = Int64(now.timeIntervalSince1970)
        let window = windowSeconds
        return state.withLock { state in
            var counts: [String: Int] = [:]
            var errors = 0
            for (bucket, actions) in state.buckets where bucket < second && bucket >= second - window {
                for (action, count) in actions { counts[action, default: 0] += count }
            }
            for (bucket, count) in state.errorBuckets where bucket < second && bucket >= second - window { errors += count }
            let rates = counts.map { ActionRate(action: $0.key, rate: Double($0.value) / Double(window)) }
                .sorted { ($0.rate, $1.action) > ($1.rate, $0.action) }
            let codes = state.errorCodes.map { ErrorCount(code: $0.key, count: $0.value) }
                .sorted { ($0.count, $1.code) > ($1.count, $0.code) }
            return Snapshot(
                requestsPerSecond: rates, errorsPerSecond: Double(errors) / Double(window), requests: state.requests,
                errors: state.errors, errorCodes: codes, openConnections: state.openConnections, address: state.address)
        }
    }
}
