/* The C runtime wasmig links into every C revision, so that it imports nothing but the contract.
 *
 * wasi-libc's stdio reaches four WASI functions even for snprintf(); a revision may not import
 * WASI (docs/GUESTS.md), so they are defined here instead: stdout and stderr go to wasmig's log
 * line by line (printf works as print() does in Python), and there is no other file to seek,
 * close or inspect. malloc, string functions and snprintf come from wasi-libc and import nothing.
 * Any other libc function that needs the outside world (time(), fopen(), getenv(), rand() seeding
 * from the clock) still imports WASI, and `wasmig build` refuses the revision, naming it. */

#include <stdint.h>
#include <stddef.h>
#include "revision.h"

#define WASI_ERRNO_BADF 8
#define WASI_ERRNO_SPIPE 70
#define WASI_FILETYPE_CHARACTER_DEVICE 2
#define WASI_RIGHTS_FD_WRITE (1ull << 6)

struct wasmig_ciovec { const uint8_t *buf; size_t len; };

static char wasmig_line[2][1024];
static size_t wasmig_line_len[2];

static void wasmig_flush_line(int stream) {
    revision_string_t text = { (uint8_t *)wasmig_line[stream], wasmig_line_len[stream] };
    wasmig_revision_context_log(stream ? WASMIG_REVISION_TYPES_LOG_LEVEL_WARN : WASMIG_REVISION_TYPES_LOG_LEVEL_INFO, &text);
    wasmig_line_len[stream] = 0;
}

int32_t __imported_wasi_snapshot_preview1_fd_write(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nwritten) {
    if (fd != 1 && fd != 2) return WASI_ERRNO_BADF;
    int stream = fd - 1;
    const struct wasmig_ciovec *vec = (const struct wasmig_ciovec *)(uintptr_t)iovs;
    size_t total = 0;
    for (int32_t i = 0; i < iovs_len; i++) {
        for (size_t j = 0; j < vec[i].len; j++) {
            char c = (char)vec[i].buf[j];
            if (c == '\n') {
                wasmig_flush_line(stream);
                continue;
            }
            if (wasmig_line_len[stream] == sizeof wasmig_line[stream]) wasmig_flush_line(stream);
            wasmig_line[stream][wasmig_line_len[stream]++] = c;
        }
        total += vec[i].len;
    }
    *(uint32_t *)(uintptr_t)nwritten = (uint32_t)total;
    return 0;
}

/* stdout and stderr are terminals for stdio's purposes, so that it writes them line by line. */
int32_t __imported_wasi_snapshot_preview1_fd_fdstat_get(int32_t fd, int32_t stat) {
    if (fd != 1 && fd != 2) return WASI_ERRNO_BADF;
    uint8_t *out = (uint8_t *)(uintptr_t)stat;
    for (int i = 0; i < 24; i++) out[i] = 0;
    out[0] = WASI_FILETYPE_CHARACTER_DEVICE;
    *(uint64_t *)(out + 8) = WASI_RIGHTS_FD_WRITE;
    return 0;
}

int32_t __imported_wasi_snapshot_preview1_fd_seek(int32_t fd, int64_t offset, int32_t whence, int32_t newoffset) {
    (void)fd; (void)offset; (void)whence; (void)newoffset;
    return WASI_ERRNO_SPIPE;
}

int32_t __imported_wasi_snapshot_preview1_fd_close(int32_t fd) {
    (void)fd;
    return WASI_ERRNO_BADF;
}
