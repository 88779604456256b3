/// Programs using the queue over the SQS endpoint (`--sqs`): requests per second by action, open
/// connections and errors. Shown at the foot of the queue pane when the endpoint is on.
public struct ExternalClients: Sendable, Equatable {
    /// One action's request rate.
    public struct ActionRate: Sendable, Equatable {
        public var action: String
        public var perSecond: Double

        public init(action: String, perSecond: Double) {
            self.action = action
            self.perSecond = perSecond
        }
    }

    /// Where the endpoint listens, e.g. `127.0.0.1:9324`.
    public var address: String
    public var openConnections: Int
    /// Busiest first.
    public var rates: [ActionRate]
    public var errorsPerSecond: Double
    /// Errors since the endpoint started, and the most frequent error code.
    public var errors: Int
    public var commonestError: String?

    public init(
        address: String, openConnections: Int = 0, rates: [ActionRate] = [], errorsPerSecond: Double = 0,
        errors: Int = 0, commonestError: String? = nil
    ) {
        self.address = address
        self.openConnections = openConnections
        self.rates = rates
        self.errorsPerSecond = errorsPerSecond
        self.errors = errors
        self.commonestError = commonestError
    }

    /// Rows the pane gives it.
    static let rows = 2
}
