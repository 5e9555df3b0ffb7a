#ifndef CMALLOC_SHIM_H
#define CMALLOC_SHIM_H
#if defined(__APPLE__)
#include <malloc/malloc.h>
#else
#include <malloc.h>
#endif

/* mallopt and M_ARENA_MAX live in <malloc.h>, which the Glibc module does not
   import. Returns 1 when the cap was set, 0 where the C library has no arenas. */
static inline int cmalloc_cap_arenas(int count) {
#if defined(M_ARENA_MAX)
    return mallopt(M_ARENA_MAX, count);
#else
    (void)count;
    return 0;
#endif
}

#endif
