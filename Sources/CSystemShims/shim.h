#ifndef ROLLBACK_CSYSTEMSHIMS_SHIM_H
#define ROLLBACK_CSYSTEMSHIMS_SHIM_H
// Small wrappers for system calls Swift cannot reach directly (variadic syscall, GNU-only
// declarations) and for zlib's CRC-32. Header-only: nothing to compile.
#include <fcntl.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/// Atomically exchanges two paths (Linux renameat2 with RENAME_EXCHANGE). Returns 0 or -1/errno.
static inline int rollback_exchange_paths(const char *a, const char *b) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}


/// syncfs(2) is a GNU extension that Swift's Glibc module does not declare.
int syncfs(int fd);
static inline int rollback_syncfs(int fd) { return syncfs(fd); }

/// Continues a CRC-32 (the checksum ZIP archives store per entry).
static inline uint32_t rollback_crc32(uint32_t crc, const void *bytes, size_t count) {
    return (uint32_t)crc32_z((uLong)crc, (const Bytef *)bytes, (z_size_t)count);
}
/// deflateInit is a macro; this is the function behind it.
static inline int rollback_deflate_init(z_stream *stream, int level) {
    return deflateInit(stream, level);
}
#endif
