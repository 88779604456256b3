import Foundation
import TestKit
import XCTest

/// The shipped binary is not a test binary: nothing it links pulls in XCTest.
final class BinaryLinkTests: XCTestCase {
    func testTheBinaryDoesNotLinkXCTest() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ldd") else { throw XCTSkip("ldd is not installed") }
        let binary = try HongbaoBinary()
        let libraries = try Spawn.run("/usr/bin/ldd", [binary.url.path])
        XCTAssertTrue(libraries.contains("libswiftCore"), "ldd printed the libraries: \(libraries)")
        XCTAssertFalse(libraries.lowercased().contains("xctest"), libraries)
    }
}
