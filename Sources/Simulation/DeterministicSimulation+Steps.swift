import AccountService
import Engine
import Ledger
import MessageQueue
import Primitives
import RedPackets

/// The fault phase: one step at a time, each chosen by the seed, each through the production code.
extension DeterministicSimulation {
    /// Picks and performs one step. Weights are per mille.
    func performRandomStep() async throws {
        do {
            switch roll(0...999) {
            case 0..<70: try await sendPacket()
            case 70..<300: try await grab()
            case 300..<530: try await open()
            case 530..<790: try await workerStep()
            case 790..<940: try await advanceClock()
            case 940..<955: try await expire()
            case 955..<970: try await replicaFault()
            case 970..<980: crashWorker()
            case 980..<982: try await restart()
            case 982..<985: try await crashMidOpen()
            case 985..<986: try startOutage()
            case 986: try await crashMidSend()
            case 987: try await crashMidExpiry()
            case 988..<991: try await redrive()
            case 991: if chance(250) { try await longDowntime() }
            default: _ = try await engine().requeueUnqueuedCredits()
            }
        } catch let error as DeterministicSimulationError {
            throw error
        } catch {
            throw DeterministicSimulationError.unexpected(step: step, detail: "\(error)")
        }
    }

    func sendPacket() async throws {
        let engine = try engine()
        let sender = randomUser()
        let kind = roll(0...9)
        let timeToLive = Duration.seconds(roll(5...600))
        let request: SendRequest
        if kind == 0 {
            var recipient = randomUser()
            if recipient == sender { recipient = users[(users.firstIndex(of: sender).map { $0 + 1 } ?? 0) % users.count] }
            request = .personal(from: sender, to: recipient, amount: Money(minorUnits: roll(1...20_000)),
                                timeToLive: timeToLive)
        } else {
            let shares = Int(roll(1...10))
            request = .group(from: sender, total: Money(minorUnits: roll(Int64(shares)...5_000)), shares: shares,
                             equal: kind <= 2, timeToLive: timeToLive)
        }
        do {
            let packet = try await engine.send(request, quiet: true)
            counts.sends += 1
            model.sent[sender, default: .zero] += packet.total
            model.live.append((packet.id, request.recipient))
            if model.live.count > DeterministicSimulation.livePacketLimit { model.live.removeFirst() }
        } catch PacketError.insufficientFunds {
            counts.sendsRefused += 1
        }
    }

    func grab() async throws {
        guard !model.live.isEmpty else { return try await sendPacket() }
        let engine = try engine()
        let position = index(model.live.count)
        let packet = model.live[position]
        let user = packet.recipient ?? randomUser()
        do {
            try await engine.grab(packet.id, user: user)
            counts.grabs += 1
            model.grabbed.append((packet.id, user))
        } catch let error as PacketError {
            counts.grabsRefused += 1
            switch error {
            case .soldOut, .expired: model.live.remove(at: position)
            default: break
            }
        }
    }

    func takeGrabbed() -> (packet: PacketID, user: String)? {
        guard !model.grabbed.isEmpty else { return nil }
        let position = index(model.grabbed.count)
        model.grabbed.swapAt(position, model.grabbed.count - 1)
        return model.grabbed.removeLast()
    }

    /// Opens through the engine: draw, in-line credit (failing at the injected rate), queue on failure.
    func open() async throws {
        guard let share = takeGrabbed() else { return try await grab() }
        do {
            let result = try await engine().open(share.packet, user: share.user, quiet: true)
            counts.opens += 1
            guard !result.wasReplay else { return }
            record(result.claim, user: share.user)
            switch (result.creditFailure, result.claim.state) {
            case (nil, _): counts.creditedInline += 1
            case (_, .crediting): counts.creditsUnqueued += 1 // no quorum: re-sent by `requeueUnqueuedCredits`
            default: counts.creditsQueued += 1
            }
        } catch is PacketError {
            counts.opensRefused += 1
        }
    }

    /// A crash between the open's steps: after the draw (nothing else), after the credit message was sent
    /// (the claim not yet marked), or after the ledger credited the share (the packet store not yet told).
    func crashMidOpen() async throws {
        if let share = takeGrabbed() { try await drawAndCrash(share) }
        try await restart()
    }

    /// The half of an open that happens before the crash. (Holds the engine only until it returns, so that
    /// the restart can release the old engine's data-directory lock.)
    private func drawAndCrash(_ share: (packet: PacketID, user: String)) async throws {
        let engine = try engine()
        do {
            let drawn = try await engine.packets.draw(share.packet, user: share.user)
            if !drawn.wasReplay { record(drawn.claim, user: share.user) }
            switch roll(0...2) {
            case 0:
                try? await engine.creditQueue.enqueue(drawn.claim.creditOrder)
                counts.crashesAfterSend += 1
            case 1 where drawn.claim.state == .crediting:
                _ = try await LedgerAccountService(accounts: engine.sqlite().ledger).credit(drawn.claim.creditOrder)
                counts.crashesAfterLedgerCredit += 1
            default:
                counts.crashesMidOpen += 1
            }
        } catch is PacketError {
            counts.opensRefused += 1
        }
    }

    /// A crash between the send's steps: the packet created `paying` and then (or not) the sender's payment.
    /// Recovery opens it if the payment landed (the model counts it sent then) and cancels it if not.
    func crashMidSend() async throws {
        try await sendHalfway()
        try await restart()
    }

    /// The half of a send that happens before the crash (holds the engine only until it returns).
    private func sendHalfway() async throws {
        let engine = try engine()
        let sender = randomUser()
        guard let account = try engine.sqlite().ledger.account(named: sender) else { return }
        let total = Money(minorUnits: roll(1...5_000))
        let shares = Int(roll(1...min(10, total.minorUnits)))
        let draft = PacketDraft(kind: .lucky, senderID: account.id, senderName: sender, recipientID: nil, total: total,
                                shares: shares, greeting: "", timeToLive: .seconds(roll(5...600)))
        let packet = try await engine.packetStore.createPacket(draft, random: engineRandom)
        if chance(500), account.balance >= total {
            _ = try await engine.sqlite().ledger.transfer(TransferRequest(
                id: packet.id.fundingTransferID, from: account.id, to: engine.sqlite().ledger.settlementAccountID,
                amount: total, memo: "red packet \(packet.id.rawValue)"))
            model.sent[sender, default: .zero] += total
            model.live.append((packet.id, nil))
            counts.crashesAfterPayment += 1
        } else {
            counts.crashesBeforePayment += 1
        }
    }

    /// A crash between the expiry's steps: due packets marked expired with their refunds pending, and then (or
    /// not) the refunds made but not recorded. Recovery makes and records each refund once.
    func crashMidExpiry() async throws {
        try await expireHalfway()
        try await restart()
    }

    /// The half of an expiry that happens before the crash (holds the engine only until it returns).
    private func expireHalfway() async throws {
        let engine = try engine()
        let expired = try await engine.packetStore.expireDue(limit: 256)
        if chance(500) {
            for packet in expired where packet.refundPending {
                _ = try await engine.sqlite().ledger.transfer(TransferRequest(
                    id: packet.id.refundTransferID, from: engine.sqlite().ledger.settlementAccountID, to: packet.senderID,
                    amount: packet.refunded, memo: "refund of red packet \(packet.id.rawValue)"))
            }
            counts.crashesAfterRefund += 1
        } else {
            counts.crashesBeforeRefund += 1
        }
        counts.packetsExpired += expired.count
        let ids = Set(expired.map(\.id))
        model.live.removeAll { ids.contains($0.id) }
    }

    func record(_ claim: Claim, user: String) {
        model.claims[claim.id] = (claim.amount, user)
    }

    /// One step of one worker: receive a batch if it holds nothing, else try the next credit it holds.
    func workerStep() async throws {
        let engine = try engine()
        let worker = index(held.count)
        if held[worker].isEmpty {
            do {
                held[worker] = try await engine.workers.receive(wait: .zero)
                counts.workerReceives += 1
            } catch {
                counts.workerReceiveFailures += 1 // no quorum: the worker polls again later
            }
        } else {
            let message = held[worker].removeFirst()
            if await engine.workers.process(message) { counts.workerCredits += 1 } else { counts.workerFailures += 1 }
        }
    }

    /// Moves virtual time: leases expire, backoffs end, packets come due, outages end. Then re-queues what
    /// found no quorum, as the engine's re-queue loop does every `Engine.requeueInterval`.
    func advanceClock() async throws {
        let engine = try engine()
        let shape = roll(0...99)
        let milliseconds = shape < 70 ? roll(1...500) : shape < 95 ? roll(500...5_000) : roll(5_000...30_000)
        clock.advance(by: .milliseconds(milliseconds))
        counts.clockAdvances += 1
        if let until = outageUntil, clock.now() >= until {
            outageUntil = nil
            engine.setOutage(false)
            engine.setCreditFailure(percent: options.creditFailurePercent)
        }
        await engine.requeueUnqueuedCredits()
    }

    func expire() async throws {
        let expired = try await engine().packets.expireDue()
        counts.expiries += 1
        counts.packetsExpired += expired.count
        let ids = Set(expired.map(\.id))
        model.live.removeAll { ids.contains($0.id) }
    }

    /// One replica goes down or is corrupted, or comes back; sometimes a second goes down (no quorum).
    func replicaFault() async throws {
        let engine = try engine()
        let statuses = try await engine.sqlite().queue.replicaStatuses()
        let out = statuses.filter { !$0.health.isLive }.map(\.id)
        let live = statuses.filter { $0.health.isLive }.map(\.id)
        if out.isEmpty, !live.isEmpty {
            let replica = live[index(live.count)]
            if chance(60) {
                try await engine.corruptReplica(replica)
                counts.replicasCorrupted += 1
            } else {
                try await engine.setReplica(replica, down: true)
                counts.replicasDown += 1
            }
        } else if out.count == 1 {
            if chance(600) {
                await restore(out[0])
            } else if options.allowQuorumLoss, chance(250), !live.isEmpty {
                try await engine.setReplica(live[index(live.count)], down: true)
                counts.replicasDown += 1
                counts.quorumLosses += 1
            }
        } else if !out.isEmpty {
            await restore(out[index(out.count)])
        }
    }

    func restore(_ replica: ReplicaID) async {
        do {
            try await engine().restoreReplica(replica)
            counts.replicasRestored += 1
        } catch {
            counts.restoreFailures += 1
        }
    }

    /// A worker dies: what it received and did not finish is dropped, unacknowledged.
    func crashWorker() {
        let worker = index(held.count)
        counts.droppedMessages += held[worker].count
        held[worker] = []
        counts.workerCrashes += 1
    }

    /// The account system goes down for a while (long enough, sometimes, to dead-letter credits).
    func startOutage() throws {
        guard outageUntil == nil else { return }
        outageUntil = clock.now() + .seconds(roll(10...150))
        try engine().setOutage(true)
        counts.outages += 1
    }

    /// The process stays down past the credit queue's retention (a long holiday): messages expire while
    /// nothing runs, and the start must purge and re-queue them before a worker's receive would drop them.
    func longDowntime() async throws {
        for index in held.indices { held[index] = [] }
        await engineSlot?.close(settle: false)
        engineSlot = nil
        clock.advance(by: limits.queue.maxRetention + .seconds(roll(1...86_400)))
        if let until = outageUntil, clock.now() >= until { outageUntil = nil }
        counts.longDowntimes += 1
        counts.restarts += 1
        try await startEngine()
    }

    /// The operator moves dead-lettered credits back (fails harmlessly without a quorum).
    func redrive() async throws {
        let engine = try engine()
        guard await engine.deadLetteredCount() > 0 else { return }
        if let moved = try? await engine.redriveDeadLetters() { counts.redriven += moved }
    }

    /// Packets the steps keep grabbing from; older ones are left to expire.
    static let livePacketLimit = 64
}
