/// A layer drawn over the panes that takes the keyboard while open.
public enum Overlay: Sendable, Equatable {
    /// The `?` help, scrolled by this many lines.
    case help(scroll: Int)
    case form(SendForm)
    /// A destructive command waiting for y/N.
    case confirm(question: String, command: DashboardCommand)
    /// The `:` prompt: its text and the history position being recalled (`nil` = editing a new line).
    case commandLine(text: String, historyIndex: Int?)
    /// The `/` prompt, filtering the focused list as it is typed.
    case filter(text: String)
}
