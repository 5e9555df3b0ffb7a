#ifndef CEPOLL_SHIM_H
#define CEPOLL_SHIM_H
/* epoll(7) lives in <sys/epoll.h>, which the Glibc module does not import.
   Linux only: Network imports this module on Linux alone. */
#if defined(__linux__)
#include <sys/epoll.h>
#endif
#endif
