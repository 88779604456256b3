/// Why a theme could not be loaded. Always names the file; line and key when known. Found before the screen
/// is taken over, so the dashboard never starts half-drawn.
public enum ThemeError: Error, Sendable, Equatable {
    /// No file for that name in any searched directory, and no theme of that name in the executable.
    case notFound(name: String, known: [String])
    case unreadable(file: String)
    /// Not valid TOML.
    case syntax(file: String, line: Int, column: Int, message: String)
    /// A table other than `[colors]` (`[colours]`).
    case unknownTable(file: String, line: Int, table: String)
    /// A key that is not a colour role.
    case unknownKey(file: String, line: Int, key: String)
    /// A value that is not a colour.
    case badValue(file: String, line: Int, key: String, value: String)

    /// One line for stderr.
    public var message: String {
        switch self {
        case .notFound(let name, let known):
            return "unknown theme '\(name)': the themes are \(known.joined(separator: ", ")) (or give a path to a .toml file)"
        case .unreadable(let file):
            return "\(file): cannot read theme file"
        case .syntax(let file, let line, let column, let message):
            return "\(file):\(line):\(column): invalid TOML: \(message)"
        case .unknownKey(let file, let line, let key):
            return "\(file):\(line): unknown key '\(key)'; \(Self.validKeys)"
        case .unknownTable(let file, let line, let table):
            return "\(file):\(line): unknown table [\(table)]\(table == "colours" ? " (did you mean [colors]?)" : ""); \(Self.validKeys)"
        case .badValue(let file, let line, let key, let value):
            return "\(file):\(line): key '\(key)': '\(value)' is not a colour (#rrggbb, a name like red, 0–255, or default)"
        }
    }

    /// What a theme file may contain.
    static var validKeys: String {
        "a theme has name, description and a [colors] table with: " + ColorRole.allCases.map(\.rawValue).joined(separator: ", ")
    }
}
