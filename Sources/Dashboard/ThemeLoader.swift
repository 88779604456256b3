import Foundation
import TOMLKit

/// Reads theme files: `[colors]` (or top-level) keys naming `ColorRole`s, merged over `Theme.default`.
/// The only file reading the Dashboard module does.
public struct ThemeLoader: Sendable {
    /// Directories searched for `NAME.toml`, in order.
    public var searchDirectories: [String]

    public init(searchDirectories: [String]) {
        self.searchDirectories = searchDirectories
    }

    /// The usual places for `Themes/`: next to the executable (and its parents, for `.build/debug/hongbao`),
    /// the current directory.
    public static func standardDirectories(executablePath: String, currentDirectory: String) -> [String] {
        var directories: [String] = []
        var url = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            directories.append(url.appendingPathComponent("Themes").path)
            url = url.deletingLastPathComponent()
        }
        directories.append(URL(fileURLWithPath: currentDirectory).appendingPathComponent("Themes").path)
        var seen = Set<String>()
        return directories.filter { seen.insert($0).inserted }
    }

    /// The names of the themes found on disk and shipped in the executable (`default` first), for `t` to cycle
    /// through and for the error that names an unknown theme.
    public func availableNames() -> [String] {
        var names = Set(BuiltInThemes.files.keys)
        for directory in searchDirectories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in files where file.hasSuffix(".toml") { names.insert(String(file.dropLast(5))) }
        }
        return ["default"] + names.subtracting(["default"]).sorted()
    }

    /// Resolves `--theme NAME|PATH`: a value containing `/` or ending in `.toml` is a path; otherwise a name looked
    /// up as `NAME.toml` in the search directories (which override), then among the themes shipped in the
    /// executable. An unknown name is an error that lists the known ones.
    public func load(_ nameOrPath: String) throws(ThemeError) -> Theme {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".toml") {
            return try loadFile(nameOrPath)
        }
        for directory in searchDirectories {
            let path = directory + "/" + nameOrPath + ".toml"
            if FileManager.default.fileExists(atPath: path) { return try loadFile(path) }
        }
        if let text = BuiltInThemes.files[nameOrPath] {
            return Theme.default.merging(try Self.parse(text, file: "(built-in) \(nameOrPath).toml"), name: nameOrPath)
        }
        if nameOrPath == "default" { return .default }
        throw .notFound(name: nameOrPath, known: availableNames())
    }

    /// Loads one file, merged over the default theme.
    public func loadFile(_ path: String) throws(ThemeError) -> Theme {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .unreadable(file: path)
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return Theme.default.merging(try Self.parse(text, file: path), name: name)
    }

    /// Parses the text of a theme file into the roles it overrides. Entries are checked in the order they are
    /// written, so that the error reported is the first one in the file, at its own line.
    public static func parse(_ text: String, file: String) throws(ThemeError) -> [ColorRole: ThemeColor] {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .syntax(file: file, line: error.source.begin.line, column: error.source.begin.column, message: error.description)
        } catch {
            throw .syntax(file: file, line: 0, column: 0, message: "\(error)")
        }
        var entries: [(line: Int, key: String, value: any TOMLValueConvertible)] = []
        for key in table.keys {
            guard let value = table[key] else { continue }
            if key == "colors", let colors = value.table {
                for inner in colors.keys {
                    if let innerValue = colors[inner] { entries.append((line(of: inner, in: text, table: "colors"), inner, innerValue)) }
                }
            } else if key == "name" || key == "description" {
                continue
            } else if value.table != nil {
                entries.append((line(ofTable: key, in: text), "[\(key)]", value))
            } else {
                entries.append((line(of: key, in: text, table: nil), key, value))
            }
        }
        var overrides: [ColorRole: ThemeColor] = [:]
        for (line, key, value) in entries.sorted(by: { ($0.line == 0 ? Int.max : $0.line) < ($1.line == 0 ? Int.max : $1.line) }) {
            if key.hasPrefix("[") { throw .unknownTable(file: file, line: line, table: String(key.dropFirst().dropLast())) }
            guard let role = ColorRole(rawValue: key) else {
                throw .unknownKey(file: file, line: line, key: key)
            }
            let written: String
            if let string = value.string {
                written = string
            } else if let number = value.int {
                written = "\(number)"
            } else {
                written = "\(value)"
            }
            guard let color = ThemeColor.parse(written) else {
                throw .badValue(file: file, line: line, key: key, value: written)
            }
            overrides[role] = color
        }
        return overrides
    }

    /// The 1-based line of a `[table]` header, or 0.
    static func line(ofTable table: String, in text: String) -> Int {
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.filter { $0 != " " && $0 != "\t" }
            if line.hasPrefix("[\(table)]") || line.hasPrefix("[\"\(table)\"]") { return index + 1 }
        }
        return 0
    }

    /// The 1-based line where `key = …` is written in `table` (`nil`: before any table), or 0.
    static func line(of key: String, in text: String, table: String?) -> Int {
        var current: String?
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            while line.first == " " || line.first == "\t" { line = line.dropFirst() }
            if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
                current = String(line[line.index(after: line.startIndex)..<close]).trimmingCharacters()
                continue
            }
            guard current == table || (table == "colors" && current == nil) else { continue }
            for candidate in [key, "\"\(key)\"", "colors.\(key)"] where line.hasPrefix(candidate) {
                let rest = line.dropFirst(candidate.count).drop { $0 == " " || $0 == "\t" }
                if rest.first == "=" { return index + 1 }
            }
        }
        return 0
    }
}
