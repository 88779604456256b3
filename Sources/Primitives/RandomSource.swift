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
    ///
    /// Each character is uniform and independent of the others. Up to `IdentifierAlphabet.perDraw` characters
    /// come from one uniform draw of a number below 31^k, written in base 31: the system generator costs a
    /// `getrandom` call per draw, and one draw per character showed in profiles of the queue.
    public func identifier(count: Int) -> String {
        let alphabet = IdentifierAlphabet.ascii
        let base = UInt64(alphabet.count)
        return String(unsafeUninitializedCapacity: max(0, count)) { buffer in
            var written = 0
            while written < count {
                let digits = min(IdentifierAlphabet.perDraw, count - written)
                var span: UInt64 = 1
                for _ in 0..<digits { span *= base }
                var value = UInt64(bitPattern: uniform(in: 0...Int64(bitPattern: span - 1)))
                for _ in 0..<digits {
                    buffer[written] = alphabet[Int(value % base)]
                    value /= base
                    written += 1
                }
            }
            return written
        }
    }
}

/// The characters of identifiers: lowercase, without look-alikes, in ascending order (so that numbers encoded
/// with them sort as numbers).
public enum IdentifierAlphabet {
    public static let characters = Array("23456789abcdefghjkmnpqrstuvwxyz")
    /// The same characters as ASCII bytes.
    static let ascii = Array("23456789abcdefghjkmnpqrstuvwxyz".utf8)
    /// How many characters one 64-bit draw yields: the largest k with 31^k ≤ 2^63 (`uniform` takes an Int64 range).
    static let perDraw = 12
}

/// The system's cryptographically secure generator.
public struct SystemRandomSource: RandomSource {
    public init() {}

    public func next() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }
}
