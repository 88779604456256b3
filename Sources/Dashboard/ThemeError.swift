/// Why a theme could not be loaded. Always names the file; line and key when known. Found before the screen
/// is taken over, so the dashboard never starts half-drawn.
public enum ThemeError: Error, Sendable, Equatable {
    /// No file for that name in any searched directory.
    case notFound(name: String, searched: [String])
    case unreadable(file: String)
    /// Not valid TOML.
    case syntax(file: String, line: Int, column: Int, message: String)
    /// A key that is not a colour role.
    case unknownKey(file: String, line: Int, key: String)
    /// A value that is not a colour.
    case badValue(file: String, line: Int, key: String, value: String)

    /// One line for stderr.
    public var message: String {
        switch self {
        case .notFound(let name, let searched):
            return "theme '\(name)' not found (looked in \(searched.joined(separator: ", ")))"
        case .unreadable(let file):
            return "\(file): cannot read theme file"
        case .syntax(let file, let line, let column, let message):
            return "\(file):\(line):\(column): invalid TOML: \(message)"
        case .unknownKey(let file, let line, let key):
            let known = ColorRole.allCases.map(\.rawValue).joined(separator: ", ")
            return "\(file):\(line): unknown key '\(key)' (known: \(known))"
        case .badValue(let file, let line, let key, let value):
            return "\(file):\(line): key '\(key)': '\(value)' is not a colour (#rrggbb, a name like red, 0–255, or default)"
        }
    }
}
