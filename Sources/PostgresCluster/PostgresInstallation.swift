import Foundation

/// The PostgreSQL server programs a cluster is run with: Debian's `/usr/lib/postgresql/MAJOR/bin`, the newest
/// major installed, or the directory named by `HONGBAO_PG_BIN`.
public struct PostgresInstallation: Sendable, Equatable {
    /// The directory that holds `postgres`, `initdb`, `pg_ctl`, `pg_basebackup` and `pg_rewind`.
    public let binDirectory: String
    /// The major version (15 for `/usr/lib/postgresql/15/bin`); nil when the directory does not say.
    public let major: Int?

    /// The programs a cluster needs; an installation without any of them is not used.
    public static let programs = ["postgres", "initdb", "pg_ctl", "pg_basebackup", "pg_rewind"]

    /// The root Debian installs each major version under.
    public static let debianRoot = "/usr/lib/postgresql"

    /// The command that installs the programs on Debian (said in the error when none are found).
    public static let installCommand = "apt-get install -y postgresql"

    public init(binDirectory: String, major: Int?) {
        self.binDirectory = binDirectory
        self.major = major
    }

    /// The path of one program.
    public func path(_ program: String) -> String { binDirectory + "/" + program }

    /// Finds the programs: `HONGBAO_PG_BIN` when set (and only there), else the newest major under
    /// `/usr/lib/postgresql`. Throws `ClusterError.noBinaries` naming where it looked.
    public static func find(
        environment: [String: String] = ProcessInfo.processInfo.environment, root: String = debianRoot
    ) throws(ClusterError) -> PostgresInstallation {
        if let explicit = environment["HONGBAO_PG_BIN"], !explicit.isEmpty {
            guard isComplete(explicit) else { throw .noBinaries(lookedIn: explicit) }
            return PostgresInstallation(binDirectory: explicit, major: nil)
        }
        let majors = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init)
            .sorted(by: >)
        for major in majors where isComplete("\(root)/\(major)/bin") {
            return PostgresInstallation(binDirectory: "\(root)/\(major)/bin", major: major)
        }
        throw .noBinaries(lookedIn: "\(root)/*/bin")
    }

    private static func isComplete(_ directory: String) -> Bool {
        programs.allSatisfy { FileManager.default.isExecutableFile(atPath: directory + "/" + $0) }
    }
}
