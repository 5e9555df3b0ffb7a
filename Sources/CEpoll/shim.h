#ifndef CEPOLL_SHIM_H
#define CEPOLL_SHIM_H
/* epoll(7) lives in <sys/epoll.h> and eventfd(2), which wakes an epoll wait,
   in <sys/eventfd.h>; the Glibc module imports neither.
   Linux only: Network imports this module on Linux alone. */
#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif
#endif
