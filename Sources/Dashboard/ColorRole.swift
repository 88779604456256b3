/// The semantic colours a theme defines. Cells name a role; the theme decides the colour.
/// The raw value is the key in a theme file.
public enum ColorRole: String, Sendable, Hashable, CaseIterable {
    case text
    case background
    case title
    case border
    case borderFocus = "border_focus"
    case selected
    case selectedBackground = "selected_background"
    case headerBackground = "header_background"
    case footerBackground = "footer_background"
    case ok
    case warn
    case error
    case muted
    case graph
    case accent
    case money
    case key
}
