import Ledger
import Primitives
import RedPackets
import TestKit
import XCTest

final class ConcurrencyTests: PacketTestCase {
    private func openManyUsers(_ names: [String]) throws {
        try ledger.writeNow { transaction in
            for name in names { _ = try transaction.openAccount(name: name) }
        }
    }

    func testThreeHundredConcurrentGrabsOfAHundredSharesThenConcurrentOpensNeverOverClaim() async throws {
        try await user("sender", yuan("1000"))
        let names = (0..<300).map { "g\($0)" }
        try openManyUsers(names)
        let total = yuan("88.88")
        let packet = try await service.send(.group(from: "sender", total: total, shares: 100))
        let service = self.service!

        let grabs = await withTaskGroup(of: (String, Result<Int, PacketError>).self) { group in
            for name in names {
                group.addTask {
                    do { return (name, .success(try await service.grab(packet.id, user: name))) }
                    catch let error as PacketError { return (name, .failure(error)) }
                    catch { return (name, .failure(.unknownPacket("unexpected \(error)"))) }
                }
            }
            return await group.reduce(into: [(String, Result<Int, PacketError>)]()) { $0.append($1) }
        }
        let winners = grabs.compactMap { name, result in (try? result.get()).map { (name, $0) } }
        XCTAssertEqual(winners.count, 100)
        XCTAssertEqual(Set(winners.map(\.1)), Set(1...100), "each slot exactly once")
        let losers = grabs.filter { (try? $0.1.get()) == nil }
        XCTAssertEqual(losers.count, 200)
        for (name, result) in losers {
            XCTAssertEqual(result, .failure(.soldOut(packet.id)), name)
        }
        XCTAssertEqual(try service.packet(packet.id).grabbed, 100)

        // Every winner opens twice at once; every loser tries too.
        let winnerNames = Set(winners.map(\.0))
        let driver = self.driver
        let opens = await withTaskGroup(of: (String, Result<OpenResult, PacketError>).self) { group in
            for name in names {
                let attempts = winnerNames.contains(name) ? 2 : 1
                for _ in 0..<attempts {
                    group.addTask {
                        do { return (name, .success(try await service.open(packet.id, user: name, via: driver))) }
                        catch let error as PacketError { return (name, .failure(error)) }
                        catch { return (name, .failure(.unknownPacket("unexpected \(error)"))) }
                    }
                }
            }
            return await group.reduce(into: [(String, Result<OpenResult, PacketError>)]()) { $0.append($1) }
        }
        // The opener does not wait for the record of its in-line credit; the checks below look at a quiet system.
        await driver.recordsSettled()

        var claimsByUser: [String: [OpenResult]] = [:]
        for (name, result) in opens {
            switch result {
            case let .success(open):
                XCTAssertTrue(winnerNames.contains(name), "\(name) opened without a grab")
                claimsByUser[name, default: []].append(open)
            case let .failure(error):
                XCTAssertFalse(winnerNames.contains(name), "\(name): \(error)")
                XCTAssertEqual(error, .notGrabbed(packet.id, user: name))
            }
        }
        XCTAssertEqual(claimsByUser.count, 100)
        var sum = Money.zero
        for (name, results) in claimsByUser {
            XCTAssertEqual(results.count, 2)
            XCTAssertEqual(results.filter { !$0.wasReplay }.count, 1, "\(name) drew once")
            XCTAssertEqual(results[0].claim.id, results[1].claim.id)
            XCTAssertEqual(results[0].claim.amount, results[1].claim.amount)
            XCTAssertGreaterThanOrEqual(results[0].claim.amount, yuan("0.01"))
            XCTAssertEqual(try balance(name), results[0].claim.amount, "\(name) credited exactly once")
            sum += results[0].claim.amount
        }
        XCTAssertEqual(sum, total)
        let detail = try service.detail(packet.id)
        XCTAssertEqual(detail.packet.state, .finished)
        XCTAssertEqual(detail.packet.openedAmount, total)
        XCTAssertEqual(detail.claims.count, 100)
        XCTAssertTrue(detail.claims.allSatisfy { $0.state == .credited })
        XCTAssertEqual(try held(packet), .zero)
        XCTAssertEqual(try balance("sender"), yuan("1000") - total)
        try await assertAuditsClean()
    }

    func testConcurrentSendsNeverOverdrawTheSender() async throws {
        try await user("s", yuan("10"))
        let service = self.service!
        let sent = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<40 {
                group.addTask { (try? await service.send(.group(from: "s", total: yuan("1"), shares: 1))) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        XCTAssertEqual(sent, 10)
        XCTAssertEqual(try balance("s"), .zero)
        XCTAssertEqual(try service.stats().open, 10)
        XCTAssertEqual(try service.stats().paying, 0)
        try await assertAuditsClean()
    }
}
