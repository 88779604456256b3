/// The key map as data: one table read by the update (what a key does), the help overlay (every binding) and
/// the footer (the bindings with a hint).
public struct KeyMap: Sendable, Equatable {
    public var bindings: [KeyBinding]

    public init(bindings: [KeyBinding]) {
        self.bindings = bindings
    }

    /// The binding a key triggers, if any. A key appears at most once (checked by a test).
    public func binding(for key: Key) -> KeyBinding? {
        bindings.first { $0.keys.contains(key) }
    }

    /// The standard bindings (TUI.md conventions: htop, k9s, lazygit, btop).
    public static let standard = KeyMap(bindings: [
        KeyBinding(keys: [.character("?")], description: "help (Esc closes)", context: .global, action: .help, hint: "help"),
        KeyBinding(keys: [.character("q"), .control("c")], label: "q/Ctrl-C", description: "quit", context: .global, action: .quit, hint: "quit"),
        KeyBinding(keys: [.character(":")], description: "command line (:send alice 100 --shares 10)", context: .global, action: .commandLine, hint: "cmd"),
        KeyBinding(keys: [.character("/")], description: "filter the focused list (Enter keeps, Esc clears)", context: .global, action: .filter, hint: "filter"),
        KeyBinding(keys: [.character("p")], description: "freeze / unfreeze the display (engine keeps running)", context: .global, action: .toggleFreeze, hint: "freeze"),
        KeyBinding(keys: [.character("+"), .character("=")], label: "+", description: "refresh faster", context: .global, action: .refreshFaster),
        KeyBinding(keys: [.character("-")], description: "refresh slower", context: .global, action: .refreshSlower),
        KeyBinding(keys: [.character("t")], description: "cycle theme", context: .global, action: .cycleTheme, hint: "theme"),
        KeyBinding(keys: [.control("l")], description: "redraw the screen", context: .global, action: .redraw),
        KeyBinding(keys: [.tab, .character("l"), .right], label: "Tab/l/→", description: "next pane", context: .navigation, action: .nextPane),
        KeyBinding(keys: [.backTab, .character("h"), .left], label: "S-Tab/h/←", description: "previous pane", context: .navigation, action: .previousPane),
        KeyBinding(keys: [.character("k"), .up], label: "k/↑", description: "move up in the pane", context: .navigation, action: .moveUp),
        KeyBinding(keys: [.character("j"), .down], label: "j/↓", description: "move down in the pane", context: .navigation, action: .moveDown),
        KeyBinding(keys: [.pageUp], description: "page up", context: .navigation, action: .pageUp),
        KeyBinding(keys: [.pageDown], description: "page down", context: .navigation, action: .pageDown),
        KeyBinding(keys: [.character("1")], label: "1", description: "Accounts", context: .navigation, action: .focus(.accounts)),
        KeyBinding(keys: [.character("2")], label: "2", description: "Red packets", context: .navigation, action: .focus(.packets)),
        KeyBinding(keys: [.character("3")], label: "3", description: "Credit queue", context: .navigation, action: .focus(.queue)),
        KeyBinding(keys: [.character("4")], label: "4", description: "Retries", context: .navigation, action: .focus(.retries)),
        KeyBinding(keys: [.character("5")], label: "5", description: "Faults & modes", context: .navigation, action: .focus(.faults)),
        KeyBinding(keys: [.character("6")], label: "6", description: "Events", context: .navigation, action: .focus(.events)),
        KeyBinding(keys: [.character("s")], description: "send a packet (form)", context: .engine, action: .sendForm, hint: "send"),
        KeyBinding(keys: [.character("o")], description: "grab + open a share (selected packet)", context: .engine, action: .grabAndOpen, hint: "open"),
        KeyBinding(keys: [.character("G")], description: "Gala load start / stop", context: .engine, action: .galaToggle, hint: "gala"),
        KeyBinding(keys: [.character(">")], description: "Gala load faster (×2)", context: .engine, action: .galaFaster),
        KeyBinding(keys: [.character("<")], description: "Gala load slower (÷2)", context: .engine, action: .galaSlower),
        KeyBinding(keys: [.character("f")], description: "credit failures 0 → 30 → 100 → 0 %", context: .engine, action: .cycleCreditFailures, hint: "fail%"),
        KeyBinding(keys: [.character("L")], description: "account latency 0 → 50 → 200 → 1000 ms", context: .engine, action: .cycleLedgerLatency, hint: "latency"),
        KeyBinding(keys: [.character("m")], description: "credit mode queue ⇄ transaction", context: .engine, action: .toggleCreditMode, hint: "mode"),
        KeyBinding(keys: [.character("P")], description: "pause / resume retry workers", context: .engine, action: .workersPauseToggle, hint: "workers"),
        KeyBinding(keys: [.character("C")], description: "crash retry workers", context: .engine, action: .workersCrash, hint: "crash"),
        KeyBinding(keys: [.character("R")], description: "restart retry workers", context: .engine, action: .workersRestart),
        KeyBinding(keys: [.character("D")], description: "redrive dead letters to the queue", context: .engine, action: .redrive, hint: "redrive"),
        KeyBinding(keys: [.character(" ")], description: "start / pause / resume the scenario (--scenario)", context: .engine, action: .scenarioPause),
        KeyBinding(keys: [.character("n")], description: "scenario: next caption", context: .engine, action: .scenarioNext),
        KeyBinding(keys: [.character("b")], description: "scenario: back to the previous caption", context: .engine, action: .scenarioPrevious),
        KeyBinding(keys: [.character("v")], description: "presenter view (big numbers for projectors) / back", context: .global, action: .togglePresenter),
        KeyBinding(keys: [.character("c")], description: "side by side: queue and transaction mode on one load / back", context: .global, action: .toggleCompare),
        KeyBinding(keys: [.character("d")], description: "replica down / back up", context: .queue, action: .replicaDownToggle, hint: "down"),
        KeyBinding(keys: [.character("w")], description: "replica slow / normal", context: .queue, action: .replicaSlowToggle, hint: "slow"),
        KeyBinding(keys: [.character("x")], description: "corrupt replica (asks y/N)", context: .queue, action: .replicaCorrupt, hint: "corrupt"),
        KeyBinding(keys: [.character("r")], description: "replica back up (rebuilt if corrupted)", context: .queue, action: .replicaRestore, hint: "back up"),
        KeyBinding(keys: [.character("F")], description: "failover: kill the primary, promote a standby (PostgreSQL; asks y/N)", context: .queue, action: .failover, hint: "failover"),
    ])
}
