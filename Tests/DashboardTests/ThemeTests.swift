import Dashboard
import Primitives
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

    func testAColoursTableAndTwoErrorsAreReportedAtTheFirstRealLine() {
        let directory = Fixture.fixturesDirectory.path
        let broken = ThemeLoader(searchDirectories: [directory])
        let colours = error(broken, "colours-table")
        XCTAssertEqual(colours, .unknownTable(file: directory + "/colours-table.toml", line: 4, table: "colours"))
        let message = colours?.message ?? ""
        XCTAssertTrue(message.contains(":4: unknown table [colours] (did you mean [colors]?)"), message)
        XCTAssertTrue(message.contains("name, description and a [colors] table with: text, background"), message)
        XCTAssertEqual(error(broken, "two-errors"), .badValue(file: directory + "/two-errors.toml", line: 4, key: "warn", value: "#ffaa"),
                       "the first error written, not the last")
    }

    func testThemesAreShippedInTheExecutableAndFilesOverrideThem() throws {
        // From any directory: no search path at all.
        let nowhere = ThemeLoader(searchDirectories: [])
        XCTAssertEqual(nowhere.availableNames(), ["default", "colorblind", "festival", "high-contrast", "light"])
        for name in nowhere.availableNames() {
            let shipped = try nowhere.load(name)
            XCTAssertEqual(shipped, try loader.load(name), "\(name): the shipped theme is the file's")
            let file = try String(contentsOf: Fixture.themesDirectory.appendingPathComponent(name + ".toml"), encoding: .utf8)
            XCTAssertEqual(BuiltInThemes.files[name], file, "\(name).toml and BuiltInThemes.swift are in step")
        }
        // A Themes/ directory with its own light.toml overrides the shipped one.
        let directory = URL(fileURLWithPath: ScratchRoot.path()).appendingPathComponent("hongbao-themes-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "[colors]\nok = \"blue\"\n".write(to: directory.appendingPathComponent("light.toml"), atomically: true, encoding: .utf8)
        let overridden = try ThemeLoader(searchDirectories: [directory.path]).load("light")
        XCTAssertEqual(overridden[.ok], .named(.blue, bright: false))
        XCTAssertEqual(overridden[.title], Theme.default[.title], "the override replaces the shipped file, merged over the default")
    }

    func testMissingThemeAndPaths() {
        let known = ["default", "colorblind", "festival", "high-contrast", "light"]
        XCTAssertEqual(error(loader, "nope"), .notFound(name: "nope", known: known))
        XCTAssertTrue(ThemeError.notFound(name: "nope", known: known).message.contains("the themes are default, colorblind"))
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
        for hostile in ["nan", "-1", "+5", "1e2", "007", "99999999999999999999999", "#+12345", "#-1234a", "２５５"] {
            XCTAssertNil(ThemeColor.parse(hostile), hostile)
        }
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

final class ThemeCommandTests: XCTestCase {
    func testThemeCommandPicksANamedThemeAndRefusesAnUnknownOneLoudly() {
        let update = DashboardUpdate()
        var model = Fixture.model(width: 120, height: 40)
        model.themeNames = ["default", "festival", "light"]
        func run(_ line: String) -> (DashboardModel, [DashboardEffect]) {
            var typed = model
            typed.overlay = .commandLine(text: line, historyIndex: nil)
            return update.update(typed, .key(.enter), snapshot: Fixture.snapshot, now: Fixture.now)
        }
        let (light, effects) = run("theme light")
        XCTAssertEqual(light.themeName, "light")
        XCTAssertEqual(effects, [.applyTheme(index: 2)])
        let (refused, none) = run("theme nope")
        XCTAssertEqual(none, [], "an unknown name does not move to another theme")
        XCTAssertEqual(refused.themeName, "default")
        XCTAssertEqual(refused.status?.severity, .error)
        XCTAssertEqual(refused.status?.text, "unknown theme 'nope': the themes are default, festival, light")
        XCTAssertEqual(run("theme").0.themeName, "festival", "no name: the next theme")
    }
}
