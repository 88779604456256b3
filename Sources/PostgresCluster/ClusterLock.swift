import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `<cluster>/LOCK`, held while one process changes the cluster (up, down, a fault, failover) so that two
/// operators' commands take turns. Reading the status takes no lock.
final class ClusterLock {
    private let descriptor: Int32

    /// Waits (polling, without blocking a thread) until the lock is free, then holds it until `release()`.
    init(directory: String) async throws(ClusterError) {
        let path = directory + "/LOCK"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .settings(path: path, reason: String(cString: strerror(errno))) }
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            try? await Task.sleep(for: .milliseconds(100))
        }
        self.descriptor = descriptor
    }

    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
