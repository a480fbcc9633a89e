/* zstd of pieces (see zstd.h): one streaming compression over the parts, into room for
 * ZSTD_compressBound of the whole input, so no call stops for want of output. */
#include "codec/zstd.h"

#include <zstd.h>

bool oca_zstdv(const struct oca_slice *parts, size_t n, int level, struct oca_buf *out)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    if (!cc)
        return false;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += parts[i].len;
    size_t start = out->len;
    bool ok = !ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level)) &&
              !ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cc, total));
    size_t bound = ZSTD_compressBound(total);
    oca_buf_reserve(out, bound);
    ZSTD_outBuffer o = { out->data + start, bound, 0 };
    for (size_t i = 0; ok && i < n; i++) {
        ZSTD_inBuffer in = { parts[i].data, parts[i].len, 0 };
        while (ok && in.pos < in.size)
            ok = !ZSTD_isError(ZSTD_compressStream2(cc, &o, &in, ZSTD_e_continue));
    }
    size_t left = 1;
    while (ok && left != 0) {
        ZSTD_inBuffer none = { NULL, 0, 0 };
        left = ZSTD_compressStream2(cc, &o, &none, ZSTD_e_end);
        ok = !ZSTD_isError(left);
    }
    ZSTD_freeCCtx(cc);
    if (ok)
        out->len = start + o.pos;
    out->data[out->len] = '\0';
    return ok;
}
