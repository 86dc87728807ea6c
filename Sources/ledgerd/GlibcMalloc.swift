/// glibc's allocator, tuned so that the daemon's memory comes back after a burst.
enum GlibcMalloc {
    #if os(Linux)
    /// `mallopt` from <malloc.h>, which Swift's Glibc module does not export.
    @_silgen_name("mallopt")
    private static func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
    /// `M_MMAP_THRESHOLD` from <malloc.h>.
    private static let mmapThreshold: Int32 = -3
    #endif

    /// Large buffers (pages of query results, big batches, tails of large events) get mappings of
    /// their own, returned to the system when freed. Left alone, glibc raises its threshold after
    /// the first such buffer is freed and keeps every later one in its heap, where freed memory
    /// is seldom returned: the daemon's RSS then only ever grew with each burst of large answers.
    static func returnLargeBuffersToTheSystem() {
        #if os(Linux)
        _ = Self.mallopt(Self.mmapThreshold, 256 << 10)
        #endif
    }
}
