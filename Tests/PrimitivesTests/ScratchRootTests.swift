import Foundation
import Primitives
import XCTest

final class ScratchRootTests: XCTestCase {
    func testAWritableDirectoryIsChosenAndAMissingOneFallsBackToTheTemporaryDirectory() throws {
        let temporary = FileManager.default.temporaryDirectory.path
        let directory = temporary + "/hongbao-scratch-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        XCTAssertEqual(ScratchRoot.path(preferring: directory), directory)

        let fallback = ScratchRoot.path(preferring: directory + "/missing")
        XCTAssertEqual(fallback, temporary.hasSuffix("/") && temporary.count > 1 ? String(temporary.dropLast()) : temporary)
        XCTAssertFalse(fallback.hasSuffix("/"), "no trailing slash: callers append /name")

        let file = directory + "/file"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        XCTAssertEqual(ScratchRoot.path(preferring: file), fallback, "a file is not a directory")
    }

    func testTheDefaultIsMemoryBackedWhereTheMachineHasIt() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: ScratchRoot.memory, isDirectory: &isDirectory), isDirectory.boolValue,
              access(ScratchRoot.memory, W_OK) == 0 else {
            throw XCTSkip("\(ScratchRoot.memory) is not a writable directory here")
        }
        XCTAssertEqual(ScratchRoot.path(), ScratchRoot.memory)
    }
}
