import XCTest

/// Asserts that `body` throws exactly `expected`.
public func assertThrows<E: Error & Equatable, T>(
    _ body: () async throws -> T, _ expected: E, file: StaticString = #filePath, line: UInt = #line
) async {
    do {
        let value = try await body()
        XCTFail("expected \(expected), got \(value)", file: file, line: line)
    } catch let error as E {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}

/// An error thrown on purpose from inside a transaction.
public struct DeliberateFailure: Error, Equatable {
    public init() {}
}
