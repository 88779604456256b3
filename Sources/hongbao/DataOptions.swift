import ArgumentParser
import Engine

/// `--data DIR` (or `$HONGBAO_DATA`, or `$XDG_DATA_HOME/hongbao`), shared by every subcommand.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory (default: $HONGBAO_DATA, else $XDG_DATA_HOME/hongbao).")
    var data: String?

    /// Opens and locks the data directory.
    func open() throws -> DataDirectory {
        do {
            return try DataDirectory(path: data ?? DataDirectory.defaultPath())
        } catch {
            throw UserError(error)
        }
    }
}

/// `--json`: machine-readable output.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false
}
