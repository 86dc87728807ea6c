#ifndef LEDGER_CSQLITE_SHIM_H
#define LEDGER_CSQLITE_SHIM_H
#include <sqlite3.h>

/* sqlite3_config is variadic, so Swift cannot call it directly. Memory statistics
   take a global mutex on every allocation SQLite makes; the daemon never reads them.
   Must run before SQLite initializes; afterwards it returns SQLITE_MISUSE and changes nothing. */
static inline int ledger_sqlite3_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
