import Foundation
import TestKit
import XCTest

/// The shipped binary is not a test binary: nothing it links pulls in XCTest. And it allocates with jemalloc, not
/// glibc's malloc (DESIGN.md, section 2, "Allocator").
final class BinaryLinkTests: XCTestCase {
    func testTheBinaryDoesNotLinkXCTest() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ldd") else { throw XCTSkip("ldd is not installed") }
        let binary = try HongbaoBinary()
        let libraries = try Spawn.run("/usr/bin/ldd", [binary.url.path])
        XCTAssertTrue(libraries.contains("libswiftCore"), "ldd printed the libraries: \(libraries)")
        XCTAssertFalse(libraries.lowercased().contains("xctest"), libraries)
    }

    /// jemalloc answers `MALLOC_CONF` (here: print its statistics at exit); glibc's malloc ignores it. So this fails if
    /// the library is not linked, or is linked after libc and so never serves `malloc`.
    func testTheBinaryAllocatesWithJemalloc() throws {
        let binary = try HongbaoBinary()
        let result = try binary.run(["--help"], environment: ["MALLOC_CONF": "stats_print:true"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("Begin jemalloc statistics"), "stderr: \(result.stderr.prefix(400))")
    }
}
