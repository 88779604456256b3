/// Limits of the credit path: the account service's deadline and concurrency, and the retry policy.
public struct CreditLimits: Sendable, Equatable {
    /// A credit not committed within this time counts as failed and goes to the queue. Long enough for a
    /// group commit under normal load (a few ms), short enough that an opener never waits long.
    public var deadline: Duration = .milliseconds(250)
    /// Credits in flight at once; beyond this the account service is overloaded and refuses at once.
    public var maxConcurrentCredits: Int = 256
    /// The first retry waits up to this long (full jitter: uniform in [0, base·2^(attempt-1)]).
    public var retryBase: Duration = .milliseconds(200)
    /// No retry waits longer than this.
    public var retryCap: Duration = .seconds(5)
    /// After this many receives a credit message goes to the dead-letter queue for the operator.
    public var maxReceiveCount: Int = 20
    /// Retry workers started by default.
    public var defaultWorkers: Int = 4
    /// Messages a worker takes per receive.
    public var workerBatchSize: Int = 16
    /// How long a worker's receive waits for a message (long poll).
    public var workerPollWait: Duration = .seconds(1)
    /// How long a received credit stays invisible to other workers while being tried.
    public var workerVisibility: Duration = .seconds(10)
    /// The name of the queue that carries failed credits.
    public var queueName: String = "credits"

    public init() {}

    /// The backoff ceiling before the `attempt`-th retry (1-based): base·2^(attempt−1), capped.
    public func backoffCeiling(attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = retryBase * (1 << exponent)
        return min(ceiling, retryCap)
    }
}
