import Primitives

extension DashboardSnapshot {
    /// A fixed, SYNTHETIC snapshot with every pane busy (CJK names, a replica down, a crashed worker, retries,
    /// dead letters): for render tests, the render benchmark and screenshots. Deterministic for a given `now`.
    public static func syntheticSample(at now: Timestamp) -> DashboardSnapshot {
        let names = ["王小明", "李娜", "alice", "bob", "陈大文", "Zoë", "佐藤さくら", "carol", "张伟", "a-very-long-account-name-indeed", "dave", "刘洋"]
        let accounts = names.enumerated().map { index, name in
            AccountRow(name: name, balance: Money(minorUnits: Int64(98_765_43 - index * 612_345)),
                       waitingCredits: index % 3 == 1 ? index : 0, waitingAmount: Money(minorUnits: index % 3 == 1 ? Int64(index * 837) : 0))
        }
        let kinds: [PacketKindLabel] = [.lucky, .equal, .personal]
        let states: [PacketStateLabel] = [.open, .open, .soldOut, .done, .expired]
        let packets = (0..<16).map { index in
            let shares = index % 3 == 2 ? 1 : 10
            let grabbed = min(shares, index)
            return PacketRow(id: PacketID("p\(2_040 - index)"), sender: names[index % names.count], kind: kinds[index % 3],
                      total: Money(minorUnits: Int64(10_000 + index * 2_537)), shares: shares,
                      grabbed: grabbed, opened: (grabbed + 1) / 2,
                      state: states[index % states.count],
                      expiresIn: states[index % states.count] == .expired ? nil : .seconds(Int64(30 + index * 97)))
        }
        let history = (0..<400).map { index in index < 300 ? (index * 7) % 23 : 20 + (index - 300) * 9 }
        let replicas = [
            ReplicaStatus(name: "a", state: .up, lastSequence: 48_213, lag: 0),
            ReplicaStatus(name: "b", state: .down, lastSequence: 47_001, lag: 1_212),
            ReplicaStatus(name: "c", state: .slow, lastSequence: 48_190, lag: 23),
        ]
        let retries = (0..<10).map { index in
            RetryRow(claim: ClaimID("p\(2_000 + index).\(index)"), recipient: names[(index * 5) % names.count],
                     amount: Money(minorUnits: Int64(137 + index * 411)), attempt: 1 + index % 6, dueIn: .milliseconds(Int64(120 + index * 350)))
        }
        let kindsOfEvents: [EventKind] = [.send, .grab, .open, .credit, .failure, .retry, .fault, .system]
        let events = (0..<40).map { index in
            EventLine(at: Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - Int64((40 - index) * 750)),
                      kind: kindsOfEvents[index % kindsOfEvents.count],
                      text: "\(names[index % names.count]) event \(index): ¥\(index).\(index % 10)0 " + (index % 5 == 0 ? "恭喜发财，万事如意" : "ok"))
        }
        return DashboardSnapshot(
            takenAt: now,
            header: HeaderStats(opensPerSecond: 1_987.4, creditsPerSecond: 1_402.6, openLatencyP50: .microseconds(3_150),
                                openLatencyP99: .milliseconds(41), durability: "group commit",
                                startedAt: Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - 3_723_000),
                                creditMode: .queue, conservation: .ok),
            accounts: AccountsSummary(top: accounts, totalAccounts: 10_042, totalWaitingCredits: 1_317, totalWaitingAmount: Money(minorUnits: 1_234_567)),
            packets: PacketsSummary(open: 37, grabbed: 112, opened: 48_213, expired: 9, expiringSoon: 2, recent: packets,
                                    bestLuck: BestLuck(recipient: "李娜", amount: Money(minorUnits: 18_837), packet: PacketID("p2031"))),
            queue: QueueSummary(visible: 1_204, inFlight: 16, delayed: 97, deadLetters: 3, oldestAge: .milliseconds(12_400),
                                depthHistory: history, replicas: replicas, writeQuorum: 2, halfPending: 2, checkBacks: 5),
            retries: RetriesSummary(attemptHistogram: [9_120, 2_210, 640, 122, 31, 7], next: retries,
                                    workers: [WorkerStatus(name: "w1", state: .running, completed: 4_101),
                                              WorkerStatus(name: "w2", state: .running, completed: 3_990),
                                              WorkerStatus(name: "w3", state: .crashed, completed: 1_200),
                                              WorkerStatus(name: "w4", state: .paused, completed: 2_002)],
                                    succeeded: 12_130, policy: RetryPolicy(base: .milliseconds(100), cap: .seconds(30), deadLetterAfter: 10)),
            failures: FailureComparison(queue: ModeFailures(userVisibleFailures: 0, deferredCredits: 3_410, immediateCredits: 44_803),
                                        transaction: ModeFailures(userVisibleFailures: 2_977, deferredCredits: 0, immediateCredits: 31_220)),
            faults: FaultSettings(creditFailurePercent: 30, ledgerLatencyMilliseconds: 50, loadRunning: true, loadRatePerSecond: 2_000,
                                  creditTimeouts: 1_312, creditsRefusedBusy: 486),
            events: events
        )
    }
}
