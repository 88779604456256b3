import Primitives

/// The pure update: `(model, event) -> (model, effects)`. It reads the current snapshot (to know what a toggle
/// toggles) and the time (for status-line expiry) but performs nothing itself.
public struct DashboardUpdate: Sendable {
    public var keyMap: KeyMap
    public var parser: CommandLineParser
    public var validator: PacketRequestValidator
    /// Presets cycled by `f` and `L`.
    public var failurePresets: [Int] = [0, 30, 100]
    public var latencyPresets: [Int] = [0, 50, 200, 1_000]

    public init(keyMap: KeyMap = .standard, limits: Limits = .default) {
        self.keyMap = keyMap
        self.parser = CommandLineParser(limits: limits)
        self.validator = PacketRequestValidator(limits: limits.packets)
    }

    /// Applies one event.
    public func update(_ model: DashboardModel, _ event: DashboardEvent, snapshot unfiltered: DashboardSnapshot, now: Timestamp) -> (DashboardModel, [DashboardEffect]) {
        var next = model
        let snapshot = unfiltered.filtered(by: model.filters)
        let effects: [DashboardEffect]
        switch event {
        case .resize(let width, let height):
            next.screenWidth = max(0, width)
            next.screenHeight = max(0, height)
            effects = []
        case .commandFinished(let command, let result):
            next.pendingCommands = max(0, next.pendingCommands - 1)
            let succeeded = if case .success = result { true } else { false }
            next.requested.finished(command, succeeded: succeeded, now: now)
            switch result {
            case .success(let text): next.setStatus(text, .success, now: now)
            case .failure(let error): next.setStatus(error.message, .error, now: now)
            }
            effects = []
        case .key(let key):
            effects = handleKey(key, model: &next, snapshot: snapshot, now: now)
        }
        return (next, effects)
    }

    private func handleKey(_ key: Key, model: inout DashboardModel, snapshot: DashboardSnapshot, now: Timestamp) -> [DashboardEffect] {
        if key == .control("c") { return [.quit] }
        if model.isTooSmall {
            return key == .character("q") ? [.quit] : []
        }
        switch model.overlay {
        case .help(let scroll)?: return handleHelpKey(key, scroll: scroll, model: &model)
        case .form(let form)?: return handleFormKey(key, form: form, model: &model, now: now)
        case .confirm(_, let command)?:
            model.overlay = nil
            if key == .character("y") || key == .character("Y") { return perform(command, model: &model, now: now) }
            model.setStatus("cancelled", .info, now: now)
            return []
        case .filter(let text)?:
            handleFilterKey(key, text: text, model: &model)
            return []
        case .commandLine(let text, let historyIndex)?:
            return handleCommandLineKey(key, text: text, historyIndex: historyIndex, model: &model, snapshot: snapshot, now: now)
        case nil:
            guard let binding = keyMap.binding(for: key) else { return [] }
            return apply(binding.action, model: &model, snapshot: snapshot, now: now)
        }
    }

    private func handleHelpKey(_ key: Key, scroll: Int, model: inout DashboardModel) -> [DashboardEffect] {
        switch key {
        case .escape, .character("?"), .character("q"), .enter: model.overlay = nil
        case .character("j"), .down: model.overlay = .help(scroll: scroll + 1)
        case .character("k"), .up: model.overlay = .help(scroll: max(0, scroll - 1))
        case .pageDown: model.overlay = .help(scroll: scroll + 10)
        case .pageUp: model.overlay = .help(scroll: max(0, scroll - 10))
        default: break
        }
        return []
    }

    private func handleFormKey(_ key: Key, form: SendForm, model: inout DashboardModel, now: Timestamp) -> [DashboardEffect] {
        var form = form
        switch key {
        case .escape:
            model.overlay = nil
            model.setStatus("send cancelled", .info, now: now)
            return []
        case .tab, .down: form.moveFocus(forward: true)
        case .backTab, .up: form.moveFocus(forward: false)
        case .left where form.focused == .kind: form.cycleKind(forward: false)
        case .right where form.focused == .kind, .character(" ") where form.focused == .kind: form.cycleKind(forward: true)
        case .backspace, .delete: form.edit(form.focused) { if !$0.isEmpty { $0.removeLast() } }
        case .control("u"): form.edit(form.focused) { $0 = "" }
        case .character(let character): form.edit(form.focused) { $0.append(character) }
        case .enter:
            form.submitAttempted = true
            if form.firstError(validator: validator) == nil, case .success(let request)? = form.validRequest(validator: validator) {
                model.overlay = nil
                return perform(.send(request), model: &model, now: now)
            }
        default: break
        }
        model.overlay = .form(form)
        return []
    }

    private func handleFilterKey(_ key: Key, text: String, model: inout DashboardModel) {
        let pane = model.focus
        var updated = text
        switch key {
        case .escape:
            model.filters[pane] = nil
            model.overlay = nil
            return
        case .enter:
            model.overlay = nil
            return
        case .backspace, .delete: if !updated.isEmpty { updated.removeLast() }
        case .control("u"): updated = ""
        case .character(let character): updated.append(character)
        default: return
        }
        model.overlay = .filter(text: updated)
        model.filters[pane] = updated.isEmpty ? nil : updated
        model.selection[pane] = 0
    }

    private func handleCommandLineKey(
        _ key: Key, text: String, historyIndex: Int?, model: inout DashboardModel, snapshot: DashboardSnapshot, now: Timestamp
    ) -> [DashboardEffect] {
        switch key {
        case .escape:
            model.overlay = nil
        case .backspace, .delete:
            if text.isEmpty { model.overlay = nil } else { model.overlay = .commandLine(text: String(text.dropLast()), historyIndex: nil) }
        case .control("u"):
            model.overlay = .commandLine(text: "", historyIndex: nil)
        case .up:
            guard !model.commandHistory.isEmpty else { break }
            let index = max(0, (historyIndex ?? model.commandHistory.count) - 1)
            model.overlay = .commandLine(text: model.commandHistory[index], historyIndex: index)
        case .down:
            guard let index = historyIndex else { break }
            if index + 1 < model.commandHistory.count {
                model.overlay = .commandLine(text: model.commandHistory[index + 1], historyIndex: index + 1)
            } else {
                model.overlay = .commandLine(text: "", historyIndex: nil)
            }
        case .character(let character):
            model.overlay = .commandLine(text: text + String(character), historyIndex: nil)
        case .enter:
            model.overlay = nil
            let trimmed = text.trimmingCharacters()
            guard !trimmed.isEmpty else { return [] }
            if model.commandHistory.last != trimmed { model.commandHistory.append(trimmed) }
            return runCommandLine(trimmed, model: &model, snapshot: snapshot, now: now)
        default:
            break
        }
        return []
    }

    private func runCommandLine(_ line: String, model: inout DashboardModel, snapshot: DashboardSnapshot, now: Timestamp) -> [DashboardEffect] {
        switch parser.parse(line) {
        case .failure(let error):
            model.setStatus(error.message, .error, now: now)
            return []
        case .success(.engine(let command)):
            if case .send(let request) = command, let error = validator.validate(request) {
                model.setStatus("send: \(error.message)", .error, now: now)
                return []
            }
            return performOrConfirm(command, model: &model, now: now)
        case .success(.quit): return [.quit]
        case .success(.help): return apply(.help, model: &model, snapshot: snapshot, now: now)
        case .success(.cycleTheme): return apply(.cycleTheme, model: &model, snapshot: snapshot, now: now)
        case .success(.theme(let name)):
            guard let index = model.themeNames.firstIndex(of: name) else {
                model.setStatus("unknown theme '\(name)': the themes are \(model.themeNames.joined(separator: ", "))", .error, now: now)
                return []
            }
            model.themeIndex = index
            model.setStatus("theme: \(name)", .info, now: now)
            return [.applyTheme(index: index)]
        case .success(.toggleFreeze): return apply(.toggleFreeze, model: &model, snapshot: snapshot, now: now)
        case .success(.view(let view)): return show(view, model: &model, now: now)
        case .success(.refresh(let milliseconds)):
            model.refreshMilliseconds = milliseconds
            model.setStatus("refresh every \(milliseconds) ms", .info, now: now)
            return [.setRefresh(milliseconds: milliseconds)]
        }
    }

    /// Destructive commands ask first; everything else goes at once.
    private func performOrConfirm(_ command: DashboardCommand, model: inout DashboardModel, now: Timestamp) -> [DashboardEffect] {
        if case .replica(let name, .corrupt) = command {
            model.overlay = .confirm(question: "Corrupt replica \(name)? Its copy must then be rebuilt.", command: command)
            return []
        }
        if case .failover = command {
            model.overlay = .confirm(question: "Fail over? The primary is killed and a standby promoted.", command: command)
            return []
        }
        return perform(command, model: &model, now: now)
    }

    private func perform(_ command: DashboardCommand, model: inout DashboardModel, now: Timestamp) -> [DashboardEffect] {
        model.pendingCommands += 1
        model.requested.sent(command)
        model.setStatus("→ \(DashboardText.describe(command))", .info, now: now)
        return [.perform(command)]
    }

    private func apply(_ action: KeyAction, model: inout DashboardModel, snapshot: DashboardSnapshot, now: Timestamp) -> [DashboardEffect] {
        switch action {
        case .quit: return [.quit]
        case .help: model.overlay = .help(scroll: 0)
        case .commandLine: model.overlay = .commandLine(text: "", historyIndex: nil)
        case .filter:
            guard DashboardSnapshot.filterablePanes.contains(model.focus) else {
                model.setStatus("\(model.focus.title) has no list to filter", .info, now: now)
                return []
            }
            model.overlay = .filter(text: model.filters[model.focus] ?? "")
        case .nextPane: model.focus = model.focus.next
        case .previousPane: model.focus = model.focus.previous
        case .focus(let pane): model.focus = pane
        case .moveUp: moveSelection(by: -1, model: &model, snapshot: snapshot)
        case .moveDown: moveSelection(by: 1, model: &model, snapshot: snapshot)
        case .pageUp: moveSelection(by: -model.listCapacity(model.focus), model: &model, snapshot: snapshot)
        case .pageDown: moveSelection(by: model.listCapacity(model.focus), model: &model, snapshot: snapshot)
        case .toggleFreeze:
            model.frozen.toggle()
            model.setStatus(model.frozen ? "display frozen (engine keeps running) — p to resume" : "display live", .info, now: now)
        case .refreshFaster, .refreshSlower:
            let interval = action == .refreshFaster
                ? RefreshRate.faster(than: model.refreshMilliseconds) : RefreshRate.slower(than: model.refreshMilliseconds)
            model.refreshMilliseconds = interval
            model.setStatus("refresh every \(interval) ms", .info, now: now)
            return [.setRefresh(milliseconds: interval)]
        case .cycleTheme:
            guard !model.themeNames.isEmpty else { return [] }
            model.themeIndex = (model.themeIndex + 1) % model.themeNames.count
            model.setStatus("theme: \(model.themeName)", .info, now: now)
            return [.applyTheme(index: model.themeIndex)]
        case .redraw: return [.redraw]
        case .sendForm: model.overlay = .form(SendForm())
        case .togglePresenter: return show(model.view == .presenter ? .panes : .presenter, model: &model, now: now)
        case .toggleCompare: return show(model.view == .compare ? .panes : .compare, model: &model, now: now)
        default: return engineAction(action, model: &model, snapshot: snapshot, now: now)
        }
        return []
    }

    private func engineAction(_ action: KeyAction, model: inout DashboardModel, snapshot: DashboardSnapshot, now: Timestamp) -> [DashboardEffect] {
        let replicas = snapshot.queue.replicas
        let selectedReplica = replicas.isEmpty ? nil : replicas[min(model.selected(.queue), replicas.count - 1)]
        let command: DashboardCommand
        switch action {
        case .grabAndOpen:
            let packet = model.focus == .packets ? snapshot.packets.page.row(model.selected(.packets), in: snapshot.packets.recent)?.id : nil
            command = .grabAndOpen(packet: packet, user: nil)
        case .galaToggle: command = .gala(model.requested.galaRunning(snapshot) ? .stop : .start(ratePerSecond: nil))
        case .galaFaster: command = .gala(.faster)
        case .galaSlower: command = .gala(.slower)
        case .cycleCreditFailures:
            command = .setCreditFailureRate(percent: Self.nextPreset(after: model.requested.creditFailurePercent(snapshot), in: failurePresets))
        case .cycleLedgerLatency:
            command = .setLedgerLatency(milliseconds: Self.nextPreset(after: model.requested.latencyMilliseconds(snapshot), in: latencyPresets))
        case .replicaDownToggle, .replicaSlowToggle, .replicaCorrupt, .replicaRestore:
            guard let replica = selectedReplica else {
                model.setStatus("no replica to act on", .error, now: now)
                return []
            }
            command = .replica(name: replica.name, action: Self.replicaAction(action, current: model.requested.replicaState(replica)))
        case .workersPauseToggle:
            command = .workers(model.requested.workersPaused(snapshot) ? .resume : .pause)
        case .workersCrash: command = .workers(.crash)
        case .workersRestart: command = .workers(.restart)
        case .toggleCreditMode: command = .setCreditMode(model.requested.creditMode(snapshot) == .queue ? .transaction : .queue)
        case .redrive: command = .redriveDeadLetters
        case .failover: command = .failover
        case .scenarioPause: command = .toggleScenarioPause
        case .scenarioNext: command = .scenarioStep(.next)
        case .scenarioPrevious: command = .scenarioStep(.previous)
        default: return []
        }
        return performOrConfirm(command, model: &model, now: now)
    }

    /// Switches the view. Entering the comparison asks the backend to run the second engine; leaving it lets that
    /// engine rest.
    private func show(_ view: DashboardView, model: inout DashboardModel, now: Timestamp) -> [DashboardEffect] {
        let previous = model.view
        model.view = view
        guard previous != view else { return [] }
        switch view {
        case .presenter: model.setStatus("presenter view (v returns to the panes)", .info, now: now)
        case .compare: model.setStatus("side by side (c returns to the panes)", .info, now: now)
        case .panes: model.setStatus("panes", .info, now: now)
        }
        if view == .compare { return perform(.compare(true), model: &model, now: now) }
        if previous == .compare { return perform(.compare(false), model: &model, now: now) }
        return []
    }

    /// Follows a scenario whose steps ask for views (`current.view` is the view asked by the latest step that names
    /// one): the view switches when that request changes, or when the scenario goes back a step. The operator's own
    /// choice stands until then.
    public func follow(_ model: DashboardModel, previous: ScenarioStatus?, current: ScenarioStatus?, now: Timestamp) -> (DashboardModel, [DashboardEffect]) {
        guard let current, let view = current.view else { return (model, []) }
        let wentBack = previous.map { current.step < $0.step } ?? false
        guard view != previous?.view || wentBack else { return (model, []) }
        var next = model
        let effects = show(view, model: &next, now: now)
        return (next, effects)
    }

    private static func replicaAction(_ action: KeyAction, current: ReplicaState) -> ReplicaAction {
        switch action {
        // A corrupted replica is out of service like a down one: the same key brings it back (rebuilt).
        case .replicaDownToggle: return current == .down || current == .corrupted ? .restore : .down
        case .replicaSlowToggle: return current == .slow ? .restore : .slow
        case .replicaCorrupt: return .corrupt
        default: return .restore
        }
    }

    static func nextPreset(after current: Int, in presets: [Int]) -> Int {
        presets.first { $0 > current } ?? presets.first ?? 0
    }

    private func moveSelection(by delta: Int, model: inout DashboardModel, snapshot: DashboardSnapshot) {
        let count = Self.rowCount(of: model.focus, in: snapshot)
        guard count > 0 else {
            model.selection[model.focus] = 0
            return
        }
        // Events scroll back in time: "down" means newer, so it reduces the offset.
        let signed = model.focus == .events ? -delta : delta
        model.selection[model.focus] = min(max(0, model.selected(model.focus) + signed), count - 1)
    }

    /// How many selectable rows a pane has.
    static func rowCount(of pane: PaneID, in snapshot: DashboardSnapshot) -> Int {
        switch pane {
        case .accounts: return snapshot.accounts.page.count(carrying: snapshot.accounts.top.count)
        case .packets: return snapshot.packets.page.count(carrying: snapshot.packets.recent.count)
        case .queue: return snapshot.queue.replicas.count
        case .retries: return snapshot.retries.page.count(carrying: snapshot.retries.next.count)
        case .faults: return 0
        case .events: return snapshot.events.count
        }
    }
}

extension DashboardModel {
    /// Shows a message in the status line for `StatusMessage.lifetime` (used by the terminal layer for its own
    /// errors, e.g. a theme that failed to load).
    public mutating func setStatus(_ text: String, _ severity: StatusMessage.Severity, now: Timestamp) {
        status = StatusMessage(text: text, severity: severity, expiresAt: now + StatusMessage.lifetime)
    }
}

extension String {
    func trimmingCharacters() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
