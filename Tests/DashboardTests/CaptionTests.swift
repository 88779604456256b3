import Dashboard
import Primitives
import XCTest

/// A scenario's caption has its own lines under the header (wrapped when long), stays while play is paused, and a
/// PAUSED badge stays until play resumes.
final class CaptionTests: XCTestCase {
    /// The 25 s caption of Scenarios/gala.toml, which never showed at 120×40.
    private let overloaded = "The account system is overloaded: 20% of credits time out. Openers still see their money — 'on its way'."

    private func lines(_ header: HeaderStats, width: Int, height: Int) -> [Substring] {
        var snapshot = Fixture.snapshot
        snapshot.header.caption = header.caption
        snapshot.header.scenarioPaused = header.scenarioPaused
        return Fixture.render(Fixture.model(width: width, height: height), width: width, height: height, snapshot: snapshot)
            .text().split(separator: "\n", omittingEmptySubsequences: false)
    }

    func testACaptionHasItsOwnLineAndTheNumbersStay() {
        let screen = lines(HeaderStats(caption: overloaded), width: 120, height: 40)
        XCTAssertTrue(screen[1].contains("opens/s 1,987") && screen[1].contains("fail 30%") && screen[1].contains("gala ▶"), String(screen[1]))
        XCTAssertEqual(screen[2], " ▸ " + Substring(overloaded))
        XCTAssertTrue(screen[3].contains("1 Accounts"), "the panes start below the caption")
    }

    func testALongCaptionIsWrappedNotCut() {
        let screen = lines(HeaderStats(caption: overloaded), width: 80, height: 24)
        let caption = (screen[2] + " " + screen[3]).split(separator: " ").filter { $0 != "▸" }.joined(separator: " ")
        XCTAssertEqual(caption, overloaded)
        XCTAssertTrue(screen[4].contains("1 Accounts"))
    }

    func testPausingKeepsTheCaptionAndShowsABadgeUntilPlayResumes() {
        let paused = lines(HeaderStats(caption: overloaded, scenarioPaused: true), width: 120, height: 40)
        XCTAssertTrue(paused[2].contains("PAUSED"), String(paused[2]))
        XCTAssertTrue(paused.joined(separator: " ").contains("The account system is overloaded"))
        let playing = lines(HeaderStats(caption: overloaded), width: 120, height: 40)
        XCTAssertFalse(playing.joined().contains("PAUSED"))
        let pausedBeforeAnyCaption = lines(HeaderStats(caption: nil, scenarioPaused: true), width: 120, height: 40)
        XCTAssertTrue(pausedBeforeAnyCaption[2].contains("PAUSED"))
    }

    func testNoScenarioNoCaptionRows() {
        let screen = lines(HeaderStats(), width: 120, height: 40)
        XCTAssertTrue(screen[2].contains("1 Accounts"))
        XCTAssertEqual(DashboardRenderer().captionRows(HeaderStats(), width: 120), 0)
    }
}
