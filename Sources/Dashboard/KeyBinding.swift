/// Where a binding applies; the help overlay groups bindings by context.
public enum KeyContext: String, Sendable, Equatable, CaseIterable {
    case global = "General"
    case navigation = "Navigate"
    case engine = "Drive the engine"
    case queue = "Queue pane (selected replica)"
}

/// One row of the key map: the data that drives the update, the `?` overlay and the footer.
public struct KeyBinding: Sendable, Equatable {
    /// Every key that triggers it (the first is the one shown).
    public var keys: [Key]
    /// How the key is written in help ("h/l", "1–6").
    public var label: String
    public var description: String
    public var context: KeyContext
    public var action: KeyAction
    /// Shown in the footer hints (short text), or `nil` to show only in help.
    public var hint: String?

    public init(keys: [Key], label: String? = nil, description: String, context: KeyContext, action: KeyAction, hint: String? = nil) {
        self.keys = keys
        self.label = label ?? keys.map(\.label).joined(separator: "/")
        self.description = description
        self.context = context
        self.action = action
        self.hint = hint
    }
}
