/* gzip of a whole buffer or of pieces (see gzip.h): deflateBound of the whole input sizes the
 * output, so deflate never runs out of room and the last piece's Z_FINISH ends the stream. */
#include "codec/gzip.h"

#include <string.h>
#include <zlib.h>

bool oca_gzipv(const struct oca_slice *parts, size_t n, int level, struct oca_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* windowBits 15 + 16: a gzip header and trailer rather than zlib's. */
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += parts[i].len;
    size_t bound = deflateBound(&zs, (uLong)total);
    oca_buf_reserve(out, bound);
    zs.next_out = (Bytef *)out->data + out->len;
    zs.avail_out = (uInt)bound;
    int rc = Z_OK;
    /* The bound holds the whole stream, so no call stops for want of output. */
    for (size_t i = 0; i < n && rc == Z_OK; i++) {
        if (parts[i].len == 0 && i + 1 < n)
            continue;   /* deflate would call no progress an error (Z_BUF_ERROR) */
        zs.next_in = (Bytef *)(uintptr_t)parts[i].data;
        zs.avail_in = (uInt)parts[i].len;
        rc = deflate(&zs, i + 1 == n ? Z_FINISH : Z_NO_FLUSH);
    }
    if (n == 0)
        rc = deflate(&zs, Z_FINISH);
    size_t produced = bound - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        out->data[out->len] = '\0';
        return false;
    }
    out->len += produced;
    out->data[out->len] = '\0';
    return true;
}

bool oca_gzip(const uint8_t *in, size_t len, int level, struct oca_buf *out)
{
    struct oca_slice part = { in, len };
    return oca_gzipv(&part, 1, level, out);
}
