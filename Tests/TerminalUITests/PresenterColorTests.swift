import Dashboard
import Foundation
@testable import TerminalUI
import XCTest

/// The presenter view's big digits and tiles stay visible in every theme at 8, 16 and 256 colours: the roles they
/// are drawn in never fall on the colour of the background they are drawn over.
final class PresenterColorTests: XCTestCase {
    private let themes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Themes").path

    func testStageRolesAreVisibleAtEveryColourDepth() throws {
        let loader = ThemeLoader(searchDirectories: [themes])
        let names = loader.availableNames()
        XCTAssertEqual(Set(names), ["default", "light", "high-contrast", "colorblind", "festival"])
        // Digits (opens, errors, money), the caption, the labels and the tiles (reversed: the role becomes the fill).
        let roles: [ColorRole] = [.graph, .error, .ok, .money, .accent, .title, .warn]
        for name in names {
            let theme = try loader.load(name)
            // The presenter draws on the terminal's own background: dark, except for the light theme.
            let background: Int32 = name == "light" ? 7 : 0
            for colors in [8, 16, 256] {
                for role in roles {
                    let number = ColorPalette.number(theme[role], colors: colors)
                    XCTAssertNotEqual(number, -1, "\(name) \(role) at \(colors) colours is the terminal default")
                    XCTAssertNotEqual(number, background, "\(name): \(role) vanishes on the background at \(colors) colours")
                    if colors == 8 {
                        XCTAssertNotEqual(number, background == 0 ? 8 : 15, "\(name) \(role)")
                    }
                }
            }
        }
    }
}
