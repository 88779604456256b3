import CNCursesShim
import Dashboard
@testable import TerminalUI
import XCTest

final class ColorPaletteTests: XCTestCase {
    func testFallbackChain() {
        let coral = ThemeColor.rgb(red: 0xFF, green: 0x5F, blue: 0x5F)
        XCTAssertEqual(ColorPalette.number(coral, colors: 0x1000000), 0xFF5F5F, "direct colour")
        XCTAssertEqual(ColorPalette.number(coral, colors: 256), 203, "the 6×6×6 cube")
        XCTAssertEqual(ColorPalette.number(coral, colors: 8), 1, "nearest of 8: red")
        XCTAssertEqual(ColorPalette.number(.rgb(red: 0x8A, green: 0x8A, blue: 0x8A), colors: 256), 245, "greys use 232–255")
        XCTAssertEqual(ColorPalette.number(.rgb(red: 0x8A, green: 0x8A, blue: 0x8A), colors: 16), 8)
        XCTAssertEqual(ColorPalette.number(.rgb(red: 0x8A, green: 0x8A, blue: 0x8A), colors: 8), 7, "mid grey is white of 8, not black")
        XCTAssertEqual(ColorPalette.number(.rgb(red: 0xFF, green: 0xD7, blue: 0x00), colors: 8), 3, "gold is yellow")
        XCTAssertEqual(ColorPalette.number(.terminalDefault, colors: 256), -1)
        XCTAssertEqual(ColorPalette.number(.named(.cyan, bright: true), colors: 16), 14)
        XCTAssertEqual(ColorPalette.number(.named(.cyan, bright: true), colors: 8), 6)
        XCTAssertEqual(ColorPalette.number(.indexed(208), colors: 256), 208)
        XCTAssertEqual(ColorPalette.number(.indexed(196), colors: 8), 1, "a palette index beyond COLORS maps to the nearest of 8")
    }

    func testKeyDecoding() {
        XCTAssertEqual(KeyDecoder.decodeCharacter(3), .control("c"))
        XCTAssertEqual(KeyDecoder.decodeCharacter(12), .control("l"))
        XCTAssertEqual(KeyDecoder.decodeCharacter(9), .tab)
        XCTAssertEqual(KeyDecoder.decodeCharacter(13), .enter)
        XCTAssertEqual(KeyDecoder.decodeCharacter(27), .escape)
        XCTAssertEqual(KeyDecoder.decodeCharacter(127), .backspace)
        XCTAssertEqual(KeyDecoder.decodeCharacter(0x738B), .character("王"))
        XCTAssertEqual(KeyDecoder.decode(kind: HB_KEY_BACKTAB, character: 0), .backTab)
        XCTAssertNil(KeyDecoder.decode(kind: HB_KEY_OTHER, character: 0))
    }

    func testNoColorFollowsTheConvention() {
        XCTAssertTrue(DashboardOptions.noColorRequested(["NO_COLOR": "1"]))
        XCTAssertFalse(DashboardOptions.noColorRequested(["NO_COLOR": ""]), "set but empty does not count")
        XCTAssertFalse(DashboardOptions.noColorRequested([:]))
    }

    func testThemeDirectoriesIncludeThePackageRootAboveTheBuildDirectory() {
        let directories = ThemeLoader.standardDirectories(executablePath: "/repo/.build/x86_64-unknown-linux-gnu/debug/hongbao", currentDirectory: "/work")
        XCTAssertTrue(directories.contains("/repo/Themes"))
        XCTAssertEqual(directories.last, "/work/Themes")
    }
}
