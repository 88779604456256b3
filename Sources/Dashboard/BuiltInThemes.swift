/// The themes shipped inside the executable, so that `--theme light` and `t` work from any directory.
/// Each text is exactly `Themes/NAME.toml` (a test keeps them in step); a `Themes/` directory or a path still
/// overrides them (`ThemeLoader`).
public enum BuiltInThemes {
    /// Theme name → the text of its file.
    public static let files: [String: String] = [
        "colorblind": #"""
        # Colour-blind safe (Okabe-Ito palette): blue for good, orange for caution, vermilion for bad.
        # State is always also a word or a glyph (UP/DOWN, ✓/✗), never colour alone.
        name = "colorblind"

        [colors]
        ok = "#0072b2"
        warn = "#e69f00"
        error = "#d55e00"
        graph = "#56b4e9"
        accent = "#cc79a7"
        money = "#f0e442"
        border_focus = "#e69f00"
        title = "#f0e442"
        key = "#56b4e9"
        """# + "\n",
        "default": #"""
        # Hongbao dashboard: the default theme. Every other theme names only the keys it changes.
        # Values: "#rrggbb", a named colour (black red green yellow blue magenta cyan white, or bright_NAME),
        # a palette index 0-255, or "default" (the terminal's own colour).
        name = "default"

        [colors]
        text = "default"
        background = "default"
        title = "#ffd75f"
        border = "#5f5f87"
        border_focus = "#ff5f5f"
        selected = "default"
        selected_background = "#303050"
        header_background = "#262626"
        footer_background = "#1c1c1c"
        ok = "#5fd75f"
        warn = "#ffaf00"
        error = "#ff5f5f"
        muted = "#8a8a8a"
        graph = "#5fafff"
        accent = "#ff005f"
        money = "#ffd700"
        key = "#87d7ff"
        """# + "\n",
        "festival": #"""
        # Spring Festival: red and gold.
        name = "festival"

        [colors]
        title = "#ffd700"
        border = "#af0000"
        border_focus = "#ffd700"
        header_background = "#870000"
        selected_background = "#af0000"
        footer_background = "#5f0000"
        accent = "#ffd700"
        graph = "#ffaf00"
        money = "#ffd700"
        ok = "#ffd75f"
        warn = "#ff8700"
        error = "#ff5f5f"
        muted = "#d7875f"
        key = "#ffd700"
        """# + "\n",
        "high-contrast": #"""
        # Projectors and bright rooms: pure colours, black bars, white borders.
        name = "high-contrast"

        [colors]
        title = "bright_white"
        border = "white"
        border_focus = "bright_yellow"
        header_background = "black"
        footer_background = "black"
        selected_background = "blue"
        ok = "bright_green"
        warn = "bright_yellow"
        error = "bright_red"
        muted = "white"
        graph = "bright_cyan"
        accent = "bright_magenta"
        money = "bright_yellow"
        key = "bright_cyan"
        """# + "\n",
        "light": #"""
        # Light terminals: dark text colours, pale bars.
        name = "light"

        [colors]
        title = "#875f00"
        border = "#8a8a8a"
        border_focus = "#d70000"
        header_background = "#e4e4e4"
        footer_background = "#eeeeee"
        selected_background = "#d7d7ff"
        ok = "#008700"
        warn = "#af5f00"
        error = "#d70000"
        muted = "#6c6c6c"
        graph = "#005fd7"
        accent = "#af005f"
        money = "#875f00"
        key = "#005f87"
        """# + "\n",
    ]
}
