import CMalloc

/// Caps the C allocator's arenas before the threads start.
///
/// glibc gives threads arenas of their own, up to eight per core, and memory
/// freed into one arena is not reused by the others. Here the ingest threads
/// allocate records and the spool writer frees them, so the free space
/// scatters over the arenas and the peak RSS drifts up by tens of MiB
/// (measured when each client connection had a thread of its own: ingest
/// benchmark, 100 records per frame, 53 MiB usually, up to 81 MiB; with two
/// arenas 47-48 MiB every run, at the same records/s).
enum MemoryArenas {
    static let limit: Int32 = 2

    static func capForThreads() {
        #if os(Windows)
        // The process heap is one low-fragmentation heap for all threads: no arenas to cap.
        #else
        _ = cmalloc_cap_arenas(limit)
        #endif
    }
}
