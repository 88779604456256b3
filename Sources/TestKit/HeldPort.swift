import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP port on 127.0.0.1 held by a listening socket, as another program would hold it: for tests of what a
/// server says when its port is taken. Closed by `release()`.
public struct HeldPort: Sendable {
    public let port: Int
    private let descriptor: Int32

    /// Listens on `port` (0: a free one, whose number is then `port`). Throws when the port cannot be taken.
    public init(port: Int = 0) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw HeldPortError(port: port, reason: String(cString: strerror(errno))) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let taken = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(listener, socketAddress, length) == 0 && listen(listener, 1) == 0
                    && getsockname(listener, socketAddress, &length) == 0
            }
        }
        guard taken else {
            let reason = String(cString: strerror(errno))
            close(listener)
            throw HeldPortError(port: port, reason: reason)
        }
        descriptor = listener
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    public func release() {
        close(descriptor)
    }
}

public struct HeldPortError: Error, CustomStringConvertible {
    public var port: Int
    public var reason: String

    public var description: String { "cannot hold port \(port) on 127.0.0.1: \(reason)" }
}
