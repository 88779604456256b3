/// A source of randomness, injected so that tests and simulations are reproducible.
public protocol RandomSource: Sendable {
    /// A uniformly distributed 64-bit value.
    func next() -> UInt64
}

extension RandomSource {
    /// A uniform integer in `range` (no modulo bias: rejection sampling).
    public func uniform(in range: ClosedRange<Int64>) -> Int64 {
        precondition(range.lowerBound <= range.upperBound)
        let span = UInt64(bitPattern: range.upperBound &- range.lowerBound) &+ 1
        if span == 0 { return Int64(bitPattern: next()) } // the full 64-bit range
        let limit = UInt64.max - UInt64.max % span
        var value = next()
        while value >= limit { value = next() }
        return range.lowerBound &+ Int64(bitPattern: value % span)
    }

    /// A uniform double in [0, 1): for load shaping and jitter only, never for money.
    public func unitInterval() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// `count` characters from a lowercase alphabet without look-alikes, for identifiers.
    public func identifier(count: Int) -> String {
        let alphabet = IdentifierAlphabet.characters
        return String((0..<count).map { _ in alphabet[Int(uniform(in: 0...Int64(alphabet.count - 1)))] })
    }
}

/// The characters of identifiers: lowercase, without look-alikes, in ascending order (so that numbers encoded
/// with them sort as numbers).
public enum IdentifierAlphabet {
    public static let characters = Array("23456789abcdefghjkmnpqrstuvwxyz")
}

/// The system's cryptographically secure generator.
public struct SystemRandomSource: RandomSource {
    public init() {}

    public func next() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }
}
