import Dashboard
import Primitives
import XCTest

/// Lists filter and scroll over the whole list the backend holds, and fill the rows a big terminal gives: the
/// screen asks for windows (`ListQuery`) and draws the rows the answer carries at their place in the list.
final class ListPagingTests: XCTestCase {
    private let update = DashboardUpdate()

    /// A ledger's worth of people: 1,000 accounts, richest first, as a backend holding them in memory answers.
    private static let everyone: DashboardSnapshot = {
        var snapshot = Fixture.snapshot
        snapshot.accounts.top = (1...1_000).map { (index: Int) -> AccountRow in
            let digits = String(index)
            let name: String = "u" + String(repeating: "0", count: 7 - digits.count) + digits
            return AccountRow(name: name, balance: Money(minorUnits: Int64(2_000_000 - index * 100)))
        }
        snapshot.accounts.top.append(AccountRow(name: "张三", balance: Money(minorUnits: 1)))
        return snapshot
    }()

    private func answer(_ model: DashboardModel) -> DashboardSnapshot { Self.everyone.answering(model.listQuery()) }

    private func press(_ keys: [Key], model start: DashboardModel) -> DashboardModel {
        var model = start
        for key in keys { model = update.update(model, .key(key), snapshot: answer(model), now: Fixture.now).0 }
        return model
    }

    private func render(_ model: DashboardModel) -> String {
        Fixture.render(model, width: model.screenWidth, height: model.screenHeight, snapshot: answer(model)).text()
    }

    func testABigTerminalFillsTheAccountsListWithRows() {
        let model = Fixture.model(width: 250, height: 70)
        let text = render(model)
        let shown = (1...1_000).filter { text.contains(String(format: "u%07d", $0)) }.count
        XCTAssertGreaterThan(shown, 25, "only \(shown) accounts on a 70-row screen")
        XCTAssertLessThanOrEqual(model.listQuery().accounts.limit, 4 * 70, "reads about a screenful, not the ledger")
    }

    func testPageDownReachesAnyRowAndTheWindowFollows() {
        var model = Fixture.model(width: 120, height: 40)
        model = press(Array(repeating: .pageDown, count: 60), model: model)
        XCTAssertGreaterThan(model.selected(.accounts), 500)
        let selected = model.selected(.accounts)
        let window = model.listQuery().accounts
        XCTAssertTrue(window.offset <= selected && selected < window.offset + window.limit)
        XCTAssertTrue(render(model).contains(String(format: "u%07d", selected + 1)), "the selected row is drawn")
        model = press(Array(repeating: .pageDown, count: 60), model: model)
        XCTAssertEqual(model.selected(.accounts), 1_000, "the last row (of 1,001) is reachable")
        XCTAssertTrue(render(model).contains("张三"))
    }

    func testAFilterSearchesTheWholeListNotTheFirstRows() {
        var model = press([.character("1"), .character("/")] + "u000024".map { .character($0) } + [.enter],
                          model: Fixture.model(width: 120, height: 40))
        XCTAssertEqual(model.listQuery().accounts.filter, "u000024")
        var text = render(model)
        for index in 240...245 { XCTAssertTrue(text.contains(String(format: "u%07d", index)), "u0000\(index) missing") }
        let bottom = press(Array(repeating: .character("j"), count: 12), model: model)
        XCTAssertEqual(bottom.selected(.accounts), 9, "ten accounts match, in the whole list")
        XCTAssertTrue(render(bottom).contains("u0000249"))
        XCTAssertFalse(text.contains("no accounts yet"))
        model.filters[.accounts] = "张"
        text = render(model)
        XCTAssertTrue(text.contains("张三"))
        model.filters[.accounts] = "nobody"
        XCTAssertTrue(render(model).contains("nothing matches /nobody"))
    }

    func testAnAnswerToAnOlderFilterIsNotShownAsTheNewOne() {
        var model = Fixture.model(width: 120, height: 40)
        let old = answer(model)
        model.filters[.accounts] = "u000024"
        let text = Fixture.render(model, width: 120, height: 40, snapshot: old).text()
        XCTAssertTrue(text.contains("searching…"))
        XCTAssertFalse(text.contains("u0000001"), "rows of the unfiltered list are not shown under the new filter")
    }
}

extension ListPagingTests {
    func testAListScrolledDownStaysScrolledWhenAnotherPaneHasFocus() {
        var model = Fixture.model(width: 120, height: 40)
        model = press(Array(repeating: .pageDown, count: 30), model: model)
        let selected = model.selected(.accounts)
        model = press([.character("3")], model: model)
        XCTAssertTrue(render(model).contains(String(format: "u%07d", selected + 1)), "the rows around the selection, not blank rows")
    }
}
