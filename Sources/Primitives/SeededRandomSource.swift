import Synchronization

/// A deterministic generator (SplitMix64): the same seed gives the same sequence on every machine.
/// Used by tests and by seeded simulations; thread-safe so it can be shared, though a deterministic
/// run only stays deterministic when it draws from one thread in a fixed order.
public final class SeededRandomSource: RandomSource {
    private let state: Mutex<UInt64>
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        self.state = Mutex(seed)
    }

    public func next() -> UInt64 {
        state.withLock { state in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
