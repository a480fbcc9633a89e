/* The window policy of zstd decoders (see unzstd.h). libzstd allocates a frame's window as its
 * header declares (up to 2^27 bytes by default), before any output: a 20-byte frame declaring
 * 128 MiB costs 128 MiB of address space per request. Bounding the window by what the reader may
 * produce keeps that within the reader's own limit: a single-segment frame's window is its content
 * size, so one over the limit is over the limit anyway; other frames keep a floor for encoders
 * that declare their default window whatever they compress. */
#include "codec/unzstd.h"

#include <stdio.h>
#include <stdlib.h>
#include <zstd_errors.h>

static int window_log(uint64_t max_out)
{
    uint64_t want = max_out > OCA_UNZSTD_MIN_WINDOW ? max_out : OCA_UNZSTD_MIN_WINDOW;
    ZSTD_bounds b = ZSTD_dParam_getBounds(ZSTD_d_windowLogMax);
    int log = b.lowerBound;
    while (log < b.upperBound && ((uint64_t)1 << log) < want)
        log++;
    return log;
}

uint64_t oca_unzstd_window_max(uint64_t max_out)
{
    return (uint64_t)1 << window_log(max_out);
}

ZSTD_DStream *oca_unzstd_new(uint64_t max_out)
{
    ZSTD_DStream *zs = ZSTD_createDStream();
    if (!zs) {
        fprintf(stderr, "ocagent: out of memory (zstd decoder)\n");
        abort();
    }
    /* Within libzstd's bounds, so it cannot fail. */
    ZSTD_DCtx_setParameter(zs, ZSTD_d_windowLogMax, window_log(max_out));
    return zs;
}

bool oca_unzstd_window_refused(size_t ret)
{
    return ZSTD_isError(ret) && ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge;
}
