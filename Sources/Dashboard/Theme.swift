/// A complete colour theme: every `ColorRole` has a colour. Built by merging a theme file over `Theme.default`.
public struct Theme: Sendable, Equatable {
    public var name: String
    public var colors: [ColorRole: ThemeColor]

    public init(name: String, colors: [ColorRole: ThemeColor]) {
        self.name = name
        self.colors = colors
    }

    /// The colour of a role (the terminal default if a role were somehow missing).
    public subscript(role: ColorRole) -> ThemeColor { colors[role] ?? .terminalDefault }

    /// This theme with some roles replaced.
    public func merging(_ overrides: [ColorRole: ThemeColor], name: String) -> Theme {
        Theme(name: name, colors: colors.merging(overrides) { _, new in new })
    }

    /// The built-in default, identical to `Themes/default.toml` (a test keeps them in step). Dark-on-terminal:
    /// the terminal's own background, bold titles, readable on projectors.
    public static let `default` = Theme(name: "default", colors: [
        .text: .terminalDefault,
        .background: .terminalDefault,
        .title: .rgb(red: 0xFF, green: 0xD7, blue: 0x5F),
        .border: .rgb(red: 0x5F, green: 0x5F, blue: 0x87),
        .borderFocus: .rgb(red: 0xFF, green: 0x5F, blue: 0x5F),
        .selected: .terminalDefault,
        .selectedBackground: .rgb(red: 0x30, green: 0x30, blue: 0x50),
        .headerBackground: .rgb(red: 0x26, green: 0x26, blue: 0x26),
        .footerBackground: .rgb(red: 0x1C, green: 0x1C, blue: 0x1C),
        .ok: .rgb(red: 0x5F, green: 0xD7, blue: 0x5F),
        .warn: .rgb(red: 0xFF, green: 0xAF, blue: 0x00),
        .error: .rgb(red: 0xFF, green: 0x5F, blue: 0x5F),
        .muted: .rgb(red: 0x8A, green: 0x8A, blue: 0x8A),
        .graph: .rgb(red: 0x5F, green: 0xAF, blue: 0xFF),
        .accent: .rgb(red: 0xFF, green: 0x00, blue: 0x5F),
        .money: .rgb(red: 0xFF, green: 0xD7, blue: 0x00),
        .key: .rgb(red: 0x87, green: 0xD7, blue: 0xFF),
    ])
}
