#ifndef CSQLITE_SETTINGS_H
#define CSQLITE_SETTINGS_H

// SQLite's process-wide configuration, which Swift cannot reach: sqlite3_config is a C variadic function.
// It must run before SQLite initializes (before the first connection opens); afterwards SQLite refuses it.

/// Turns off SQLite's counting of its own memory (SQLITE_CONFIG_MEMSTATUS). While counting, every allocation
/// and free inside SQLite takes one process-wide mutex, which the stores' writer threads contend for.
/// Returns SQLite's result code: SQLITE_OK (0), or SQLITE_MISUSE (21) once SQLite has initialized.
int hb_sqlite_stop_counting_memory(void);

#endif
