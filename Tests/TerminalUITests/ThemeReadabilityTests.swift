import Dashboard
import Foundation
import Primitives
@testable import TerminalUI
import XCTest

/// Every theme stays readable at 8, 16 and 256 colours and with NO_COLOR: no text is drawn in its own background
/// colour, and no text in the terminal's own colour sits on a bar the theme coloured. Checked over every style the
/// renderer actually uses (every pane, overlay, caption and view), not a list kept by hand.
final class ThemeReadabilityTests: XCTestCase {
    private static let now = Timestamp(millisecondsSinceEpoch: 1_769_000_096_000)

    /// The styles of frames covering every pane, overlay, the caption, both ASCII and Unicode, colour and not.
    private static let stylesInUse: Set<CellStyle> = {
        var snapshot = DashboardSnapshot.syntheticSample(at: now)
        snapshot.header.caption = "The account system is overloaded: 20% of credits time out."
        snapshot.header.scenarioPaused = true
        var styles = Set<CellStyle>()
        let overlays: [Overlay?] = [nil, .help(scroll: 0), .form(SendForm(amount: "12.345")), .commandLine(text: "send", historyIndex: nil),
                                    .confirm(question: "Corrupt replica b?", command: .replica(name: "b", action: .corrupt))]
        for (width, height) in [(80, 24), (120, 40), (250, 70), (60, 20)] {
            for overlay in overlays {
                for focus in [PaneID.accounts, .queue] {
                    var model = DashboardModel(screenWidth: width, screenHeight: height)
                    model.overlay = overlay
                    model.focus = focus
                    model.frozen = true
                    model.setStatus("unknown command", .error, now: now)
                    let buffer = DashboardRenderer().render(model: model, snapshot: snapshot.answering(model.listQuery()),
                                                            width: width, height: height, now: now)
                    for cell in buffer.cells { styles.insert(cell.style) }
                }
            }
        }
        return styles
    }()

    private func themes() throws -> [Theme] {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Themes").path
        let loader = ThemeLoader(searchDirectories: [directory])
        return try loader.availableNames().map { try loader.load($0) }
    }

    func testNoThemeDrawsTextInItsOwnBackgroundAtAnyColourDepth() throws {
        let themes = try themes()
        XCTAssertGreaterThanOrEqual(themes.count, 5)
        XCTAssertGreaterThan(Self.stylesInUse.count, 20)
        for theme in themes {
            for colors in [8, 16, 256, 0x1000000] {
                let palette = ColorPalette(theme: theme, colors: colors, colorPairs: 0)
                for style in Self.stylesInUse {
                    let (foreground, background) = palette.numbers(for: style)
                    XCTAssertNotEqual(foreground, background == -1 ? -2 : background,
                                      "\(theme.name) at \(colors) colours: \(style.foreground) on \(style.background) is invisible")
                    XCTAssertFalse(foreground == -1 && background != -1,
                                   "\(theme.name) at \(colors) colours: terminal-coloured \(style.foreground) on a coloured \(style.background)")
                }
            }
            // NO_COLOR: no colour pair at all, meaning kept by attributes (RenderSnapshotTests checks those).
            let none = ColorPalette(theme: theme, colors: 0, colorPairs: 0)
            XCTAssertTrue(Self.stylesInUse.allSatisfy { none.pair(for: $0) == 0 }, theme.name)
        }
    }

    func testTheMutedGreyOnTheDarkHeaderIsNotBlackOnBlackAtEightColours() {
        let palette = ColorPalette(theme: .default, colors: 8, colorPairs: 0)
        let (foreground, background) = palette.numbers(for: CellStyle(.muted, background: .headerBackground))
        XCTAssertEqual(background, 0)
        XCTAssertEqual(foreground, 7)
    }
}
