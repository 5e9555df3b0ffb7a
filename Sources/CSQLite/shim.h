#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a cast macro Swift cannot import. */
static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }

/* sqlite3_config is variadic, which Swift cannot call. Turning off memory
   statistics removes a global mutex from every SQLite allocation; it must run
   before the first connection opens. */
static inline int csqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* sqlite3_config(SQLITE_CONFIG_LOG, ...) for Swift, which cannot call the variadic function.
   Like the memory statistics, before the first connection opens. */
typedef void (*csqlite_log_function)(void *context, int code, const char *message);
static inline int csqlite_set_log(csqlite_log_function function, void *context) {
    return sqlite3_config(SQLITE_CONFIG_LOG, function, context);
}

#endif
