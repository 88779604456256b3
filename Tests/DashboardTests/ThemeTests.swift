import Dashboard
import XCTest

final class ThemeTests: XCTestCase {
    private var loader: ThemeLoader { ThemeLoader(searchDirectories: [Fixture.themesDirectory.path]) }

    func testDefaultFileMatchesTheBuiltInDefault() throws {
        let theme = try loader.load("default")
        XCTAssertEqual(theme.colors, Theme.default.colors)
        let overrides = try ThemeLoader.parse(String(contentsOf: Fixture.themesDirectory.appendingPathComponent("default.toml"), encoding: .utf8), file: "default.toml")
        XCTAssertEqual(Set(overrides.keys), Set(ColorRole.allCases), "default.toml names every role")
    }

    func testBundledThemesArePartialOverridesThatLoad() throws {
        let names = loader.availableNames()
        XCTAssertEqual(names, ["default", "colorblind", "festival", "high-contrast", "light"])
        for name in names where name != "default" {
            let theme = try loader.load(name)
            XCTAssertEqual(theme.name, name)
            XCTAssertNotEqual(theme.colors, Theme.default.colors, "\(name) changes something")
            XCTAssertEqual(Set(theme.colors.keys), Set(ColorRole.allCases), "\(name) is complete after merging")
        }
        let festival = try loader.load("festival")
        XCTAssertEqual(festival[.title], .rgb(red: 0xFF, green: 0xD7, blue: 0x00))
        XCTAssertEqual(festival[.text], Theme.default[.text], "untouched keys come from the default")
    }

    func testPartialOverrideMerge() throws {
        let overrides = try ThemeLoader.parse("[colors]\nok = \"blue\"\nwarn = 208\nerror = \"bright_red\"\ntext = \"default\"\n", file: "mine.toml")
        let theme = Theme.default.merging(overrides, name: "mine")
        XCTAssertEqual(theme[.ok], .named(.blue, bright: false))
        XCTAssertEqual(theme[.warn], .indexed(208))
        XCTAssertEqual(theme[.error], .named(.red, bright: true))
        XCTAssertEqual(theme[.text], .terminalDefault)
        XCTAssertEqual(theme[.graph], Theme.default[.graph])
        XCTAssertEqual(try ThemeLoader.parse("accent = \"#00ff7f\"", file: "top.toml")[.accent], .rgb(red: 0, green: 0xFF, blue: 0x7F))
    }

    func testBrokenFixturesNameFileLineAndKey() {
        let directory = Fixture.fixturesDirectory.path
        let broken = ThemeLoader(searchDirectories: [directory])
        XCTAssertEqual(error(broken, "bad-value"), .badValue(file: directory + "/bad-value.toml", line: 5, key: "warn", value: "#ffaa"))
        XCTAssertEqual(error(broken, "unknown-key"), .unknownKey(file: directory + "/unknown-key.toml", line: 4, key: "bordr"))
        XCTAssertEqual(error(broken, "out-of-range"), .badValue(file: directory + "/out-of-range.toml", line: 3, key: "graph", value: "300"))
        guard case .syntax(let file, let line, _, _)? = error(broken, "syntax-error") else { return XCTFail("expected a syntax error") }
        XCTAssertEqual(file, directory + "/syntax-error.toml")
        XCTAssertEqual(line, 4)
        let message = ThemeError.badValue(file: "x.toml", line: 5, key: "warn", value: "#ffaa").message
        XCTAssertTrue(message.hasPrefix("x.toml:5: key 'warn': '#ffaa' is not a colour"), message)
    }

    func testMissingThemeAndPaths() {
        XCTAssertEqual(error(loader, "nope"), .notFound(name: "nope", searched: [Fixture.themesDirectory.path]))
        XCTAssertEqual(error(loader, "/no/such/theme.toml"), .unreadable(file: "/no/such/theme.toml"))
        XCTAssertNoThrow(try loader.load(Fixture.themesDirectory.appendingPathComponent("light.toml").path))
        XCTAssertEqual(try ThemeLoader(searchDirectories: []).load("default"), .default, "built-in default without files")
    }

    func testColorValues() {
        XCTAssertEqual(ThemeColor.parse("#FF00aa"), .rgb(red: 255, green: 0, blue: 170))
        XCTAssertEqual(ThemeColor.parse("default"), .terminalDefault)
        XCTAssertEqual(ThemeColor.parse("255"), .indexed(255))
        XCTAssertNil(ThemeColor.parse("256"))
        XCTAssertNil(ThemeColor.parse("#12345"))
        XCTAssertNil(ThemeColor.parse("reddish"))
        for color in [ThemeColor.rgb(red: 1, green: 2, blue: 255), .named(.cyan, bright: true), .indexed(42), .terminalDefault] {
            XCTAssertEqual(ThemeColor.parse(color.fileValue), color)
        }
    }

    private func error(_ loader: ThemeLoader, _ name: String) -> ThemeError? {
        do {
            _ = try loader.load(name)
            return nil
        } catch {
            return error
        }
    }
}
