#ifndef CZSTD_SHIM_H
#define CZSTD_SHIM_H
/* Debian: libzstd-dev; Windows: vcpkg's zstd. */
#include <zstd.h>
#endif
