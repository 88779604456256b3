import Foundation
import Primitives
import XCTest

final class DirectoryMakerTests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.path + "/hongbao-mkdir-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    func testMissingParentsAreMadeWithTheModeAndAnExistingDirectoryIsLeftAlone() throws {
        let path = root + "/a/b/c"
        try DirectoryMaker.make(path, mode: 0o700)
        for made in [root + "/a", root + "/a/b", path] {
            let attributes = try FileManager.default.attributesOfItem(atPath: made)
            XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeDirectory, made)
            XCTAssertEqual(((attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0) & 0o777, 0o700, made)
        }
        try Data("kept".utf8).write(to: URL(fileURLWithPath: path + "/file"))
        try DirectoryMaker.make(path)
        XCTAssertEqual(try String(contentsOfFile: path + "/file", encoding: .utf8), "kept")
    }

    func testAFileInTheWayIsNamed() throws {
        let file = root + "/file"
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try DirectoryMaker.make(file + "/data/deeper")) { error in
            XCTAssertEqual(error as? DirectoryError, DirectoryError(path: file, cause: .notADirectory))
            XCTAssertEqual("\(error)", "\(file) is a file, not a directory")
        }
        XCTAssertThrowsError(try DirectoryMaker.make(file)) { error in
            XCTAssertEqual(error as? DirectoryError, DirectoryError(path: file, cause: .notADirectory))
        }
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), "not a directory")
    }

    func testTheSystemsReasonIsGivenForTheComponentThatFailed() throws {
        XCTAssertThrowsError(try DirectoryMaker.make("/proc/hongbao-none/data")) { error in
            XCTAssertEqual((error as? DirectoryError)?.path, "/proc/hongbao-none")
            XCTAssertFalse("\(error)".contains("NSCocoaErrorDomain"), "\(error)")
        }
        XCTAssertThrowsError(try DirectoryMaker.make("")) { error in
            XCTAssertEqual(error as? DirectoryError, DirectoryError(path: "", cause: .system("the path is empty")))
        }
    }

    func testARelativePathIsMadeUnderTheCurrentDirectory() throws {
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(root))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        try DirectoryMaker.make("x/y")
        var isDirectory: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/x/y", isDirectory: &isDirectory) && isDirectory.boolValue)
    }
}
