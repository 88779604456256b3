#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Primitives
import Synchronization

/// Random (version 4) and time-ordered (version 7) UUIDs as lowercase text, the form SQS gives message and request
/// ids. The random bytes are read from the system's source 4 KiB at a time: `UUID().uuidString.lowercased()` asked
/// the kernel once per id and made two strings, and every SendMessage answer needs two ids.
enum RandomUUID {
    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: 4096)
        var next = 4096

        mutating func take16() -> (UInt64, UInt64) {
            if next + 16 > bytes.count {
                RandomUUID.fill(&bytes)
                next = 0
            }
            var high: UInt64 = 0, low: UInt64 = 0
            for index in 0..<8 {
                high = high << 8 | UInt64(bytes[next + index])
                low = low << 8 | UInt64(bytes[next + 8 + index])
            }
            // Used bytes are not kept.
            for index in next..<(next + 16) { bytes[index] = 0 }
            next += 16
            return (high, low)
        }
    }

    private static let pool = Mutex(Pool())

    /// The last time-ordered id's millisecond and counter (`makeTimeOrdered`).
    private static let lastTimeOrdered = Mutex<(milliseconds: UInt64, counter: UInt64)>((0, 0))

    /// A new time-ordered UUID (version 7, RFC 9562): the Unix time in milliseconds, then a 12-bit counter that
    /// keeps ids made in the same millisecond in order, then 62 random bits. Each id sorts after every earlier one
    /// made by this process, so messages stored by id (the replicas' `message` table) are appended at the end of
    /// its B-tree, and the messages one commit adds share its last pages, instead of landing on a random page
    /// each. SQS's message ids are opaque UUIDs to its clients.
    static func makeTimeOrdered(now: UInt64 = currentMilliseconds()) -> String {
        let (milliseconds, counter) = lastTimeOrdered.withLock { last -> (UInt64, UInt64) in
            if now > last.milliseconds {
                last = (now, 0)
            } else if last.counter < 0xFFF {
                last.counter += 1
            } else {
                // 4,096 ids in one millisecond: borrow the next one, so that the order holds.
                last = (last.milliseconds + 1, 0)
            }
            return last
        }
        let (_, random) = pool.withLock { $0.take16() }
        let high = (milliseconds & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | counter
        let low = (random & ~(0x3 << 62)) | (0x2 << 62)  // RFC 9562 variant
        return format(high: high, low: low)
    }

    /// The wall clock in milliseconds since 1970.
    static func currentMilliseconds() -> UInt64 {
        UInt64(max(0, SystemClock().now().millisecondsSinceEpoch))
    }

    /// A new random UUID, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx` in lowercase hexadecimal (y is 8, 9, a or b).
    static func make() -> String {
        var (high, low) = pool.withLock { $0.take16() }
        high = (high & ~0xF000) | 0x4000  // version 4
        low = (low & ~(0xC << 60)) | (0x8 << 60)  // RFC 4122 variant
        return format(high: high, low: low)
    }

    /// The canonical text of the UUID whose 128 bits are `high` then `low`.
    static func format(high: UInt64, low: UInt64) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var written = 0
            func put(_ value: UInt64, nibbles: Int) {
                for shift in stride(from: (nibbles - 1) * 4, through: 0, by: -4) {
                    buffer[written] = digits.utf8Start[Int((value >> UInt64(shift)) & 0xF)]
                    written += 1
                }
            }
            func dash() {
                buffer[written] = UInt8(ascii: "-")
                written += 1
            }
            put(high >> 32, nibbles: 8)
            dash()
            put((high >> 16) & 0xFFFF, nibbles: 4)
            dash()
            put(high & 0xFFFF, nibbles: 4)
            dash()
            put(low >> 48, nibbles: 4)
            dash()
            put(low & 0xFFFF_FFFF_FFFF, nibbles: 12)
            return written
        }
    }

    /// `/dev/urandom`, opened on first use and kept (-1 when it cannot be opened).
    private static let urandom: Int32 = open("/dev/urandom", O_RDONLY | O_CLOEXEC)

    /// Fills `bytes` from the kernel's random source (the standard library's generator if `/dev/urandom` fails).
    private static func fill(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var filled = 0
            while filled < buffer.count, urandom >= 0 {
                let count = read(urandom, base + filled, buffer.count - filled)
                if count > 0 {
                    filled += count
                } else if count == 0 || errno != EINTR {
                    break
                }
            }
            var generator = SystemRandomNumberGenerator()
            for index in filled..<buffer.count { buffer[index] = UInt8.random(in: 0...255, using: &generator) }
        }
    }
}
