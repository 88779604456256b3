/// Message queue limits, following Tencent CMQ. The queue module fills these in.
public struct QueueLimits: Sendable, Equatable {
    public init() {}
}
