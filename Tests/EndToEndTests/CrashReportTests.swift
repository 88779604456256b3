import Foundation
import TestKit
import XCTest

/// The README's test build writes no debug information; a crash in a test still names the function it happened
/// in (the runtime's backtrace reads the symbol table, which the build keeps).
final class CrashReportTests: XCTestCase {
    private static let childVariable = "HONGBAO_CRASH_REPORT_CHILD"

    func testACrashReportNamesTheFunctionThatCrashed() throws {
        #if os(Linux)
        let tests = CommandLine.arguments[0]
        guard tests.hasPrefix("/"), FileManager.default.isExecutableFile(atPath: tests) else {
            throw XCTSkip("the test binary's path is not known here: \(tests)")
        }
        let child = "EndToEndTests.CrashReportTests/testCrashesWhenRunAsTheChildOfTheTestAbove"
        let output = try Spawn.run("/bin/sh", ["-c", """
            \(Self.childVariable)=1 SWIFT_BACKTRACE=enable=yes,interactive=no exec '\(tests)' '\(child)' 2>&1
            """])
        XCTAssertTrue(output.contains("Fatal error: asked for by the crash-report test"), output)
        XCTAssertTrue(output.contains("theFunctionThatCrashesForTheReport"), "the backtrace names no function:\n\(output)")
        #else
        throw XCTSkip("the runtime's backtracer is checked on Linux")
        #endif
    }

    func testCrashesWhenRunAsTheChildOfTheTestAbove() throws {
        guard ProcessInfo.processInfo.environment[Self.childVariable] == "1" else {
            throw XCTSkip("crashes only as the child of testACrashReportNamesTheFunctionThatCrashed")
        }
        Self.theFunctionThatCrashesForTheReport()
    }

    @inline(never)
    private static func theFunctionThatCrashesForTheReport() {
        fatalError("asked for by the crash-report test")
    }
}
