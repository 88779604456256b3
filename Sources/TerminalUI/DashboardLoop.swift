import CNCursesShim
import Dashboard
import Primitives

/// The UI loop: read keys, apply the update, perform effects, draw at most once per frame interval.
/// Runs on one task; owns the screen.
final class DashboardLoop {
    /// How often the keyboard is polled (input latency bound when idle).
    static let inputPollMilliseconds = 12
    /// Key presses redraw at once, but never more often than this.
    static let inputFrameMilliseconds: Int64 = 16

    private let screen: TerminalScreen
    private let backend: any DashboardBackend
    private let shared: SharedState
    private let options: DashboardOptions
    private let update: DashboardUpdate
    private var renderer: DashboardRenderer
    private var model: DashboardModel
    private var snapshot = DashboardSnapshot.empty
    private var generation = 0
    private var themes: [String: Theme]
    private let recorder: AsciicastRecorder?

    init(screen: TerminalScreen, backend: any DashboardBackend, shared: SharedState, options: DashboardOptions, theme: Theme,
         recorder: AsciicastRecorder? = nil) {
        self.recorder = recorder
        self.screen = screen
        self.backend = backend
        self.shared = shared
        self.options = options
        self.update = DashboardUpdate(keyMap: options.keyMap, limits: options.limits)
        self.renderer = DashboardRenderer(keyMap: options.keyMap, limits: options.limits,
                                          options: RenderOptions(unicode: screen.unicode, color: screen.hasColor))
        var names = options.themeLoader?.availableNames() ?? []
        if !names.contains(theme.name) { names.insert(theme.name, at: 0) }
        self.model = DashboardModel(themeNames: names, themeIndex: names.firstIndex(of: theme.name) ?? 0,
                                    refreshMilliseconds: options.refreshMilliseconds,
                                    screenWidth: screen.width, screenHeight: screen.height)
        self.model.view = options.initialView
        self.themes = [theme.name: theme]
    }

    /// Loops until quit, a signal or cancellation. `perform` starts a command in a child task.
    func run(perform: (DashboardCommand) -> Void) async {
        if options.initialView == .compare { perform(.compare(true)) }
        var lastFrame: Int64 = 0
        var lastSecond: Int64 = -1
        var dirty = true
        var framesThisSecond = 0
        while !Task.isCancelled && hb_pending_signal() == 0 {
            var inputArrived = false
            var quit = false
            while let input = screen.readKey() {
                let event: DashboardEvent
                switch input {
                case .key(let key): event = .key(key)
                case .resize(let width, let height): event = .resize(width: width, height: height)
                case .ignored: continue
                }
                inputArrived = true
                if apply(event, perform: perform) { quit = true }
            }
            if quit { return }
            for event in shared.takeEvents() {
                _ = apply(event, perform: perform)
                dirty = true
            }
            if !model.frozen, let (fresh, freshGeneration) = shared.snapshot(newerThan: generation) {
                generation = freshGeneration
                model.reconcile(with: fresh)
                let (followed, effects) = update.follow(model, previous: snapshot.scenario, current: fresh.scenario, now: options.clock.now())
                model = followed
                if run(effects, perform: perform, now: options.clock.now()) { return }
                var comparable = fresh
                comparable.takenAt = snapshot.takenAt
                // The first one is always taken, even if it holds nothing: it ends the "starting" screen.
                if comparable != snapshot || snapshot.takenAt == DashboardSnapshot.empty.takenAt {
                    snapshot = fresh
                    dirty = true
                }
            }
            let now = options.clock.now()
            let elapsed = now.millisecondsSinceEpoch - lastFrame
            let second = now.millisecondsSinceEpoch / 1_000
            let frameDue = elapsed >= Int64(model.refreshMilliseconds) && (dirty || second != lastSecond)
            let inputDue = inputArrived && elapsed >= Self.inputFrameMilliseconds
            if frameDue || inputDue || (inputArrived && dirty) {
                screen.refreshSize()
                if model.screenWidth != screen.width || model.screenHeight != screen.height {
                    _ = apply(.resize(width: screen.width, height: screen.height), perform: perform)
                }
                if second != lastSecond {
                    model.measuredFramesPerSecond = lastSecond < 0 ? nil : framesThisSecond
                    framesThisSecond = 0
                }
                let frame = renderer.render(model: model, snapshot: snapshot, width: screen.width, height: screen.height, now: now)
                screen.draw(frame)
                recorder?.record(frame, at: now)
                framesThisSecond += 1
                lastFrame = now.millisecondsSinceEpoch
                lastSecond = second
                dirty = false
            } else if inputArrived {
                dirty = true
            }
            do {
                try await Task.sleep(for: .milliseconds(Self.inputPollMilliseconds))
            } catch {
                return
            }
        }
    }

    /// The lists' windows the screen needs for the current model.
    var listQuery: ListQuery { model.listQuery() }

    /// Applies one event and its effects; returns `true` to quit.
    private func apply(_ event: DashboardEvent, perform: (DashboardCommand) -> Void) -> Bool {
        let now = options.clock.now()
        let (next, effects) = update.update(model, event, snapshot: snapshot, now: now)
        model = next
        let query = model.listQuery()
        if query != shared.query { shared.query = query }
        return run(effects, perform: perform, now: now)
    }

    /// Performs the effects of an update; returns `true` to quit.
    private func run(_ effects: [DashboardEffect], perform: (DashboardCommand) -> Void, now: Timestamp) -> Bool {
        for effect in effects {
            switch effect {
            case .quit: return true
            case .perform(let command): perform(command)
            case .redraw: screen.invalidate()
            case .setRefresh(let milliseconds): shared.refreshMilliseconds = milliseconds
            case .applyTheme(let index): switchTheme(to: model.themeNames[index], now: now)
            }
        }
        return false
    }

    private func switchTheme(to name: String, now: Timestamp) {
        if let cached = themes[name] {
            screen.apply(cached)
            recorder?.apply(cached)
            return
        }
        guard let loader = options.themeLoader else { return }
        do {
            let theme = try loader.load(name)
            themes[name] = theme
            screen.apply(theme)
            recorder?.apply(theme)
        } catch {
            model.setStatus(error.message, .error, now: now)
        }
    }
}
