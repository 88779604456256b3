import CSQLiteSettings
import GRDBSQLite

/// SQLite's process-wide settings, made once before SQLite initializes: the binary applies them first thing,
/// and every store applies them before it opens a connection (a no-op after the first time).
///
/// One setting: SQLite stops counting its own memory. While it counts (SQLite's default), every allocation and
/// free inside SQLite, each bound string included, takes one process-wide mutex. Under the Gala load five writer
/// threads (the ledger, the red-packet store, the queue's three replicas) and the readers contend for it on two
/// cores: it was 62 % of the process's futex calls, and a thread preempted while holding it stalls the others
/// (DESIGN.md, section 2, "SQLite's memory statistics"). Nothing here reads SQLite's memory figures.
public enum SQLiteProcessSettings {
    /// SQLite's answer to the setting: `SQLITE_OK`, or `SQLITE_MISUSE` when SQLite had already initialized in
    /// this process (something opened a connection first), in which case SQLite keeps counting.
    private static let result: Int32 = hb_sqlite_stop_counting_memory()

    /// Applies the settings if SQLite has not initialized yet; returns whether SQLite took them.
    @discardableResult
    public static func apply() -> Bool { result == SQLITE_OK }

    /// Whether SQLite counts its memory in this process, read from SQLite itself (not from what `apply` was
    /// told): while it counts, the most memory it has used is above zero once any connection is open; when it
    /// does not, the figure is never updated and stays zero. Meaningful once a connection has been opened.
    public static var countsMemory: Bool {
        var current: sqlite3_int64 = 0
        var highest: sqlite3_int64 = 0
        guard sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &current, &highest, 0) == SQLITE_OK else { return true }
        return highest > 0
    }

    /// One line for reports: the library's version and whether it counts its memory.
    public static var summary: String {
        "SQLite \(String(cString: sqlite3_libversion())), memory statistics \(countsMemory ? "on" : "off")"
    }
}
