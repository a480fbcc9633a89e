/* gzip of a whole buffer (see gzip.h): deflateBound sizes the output, so one deflate call with
 * Z_FINISH ends the stream. */
#include "codec/gzip.h"

#include <string.h>
#include <zlib.h>

bool oca_gzip(const uint8_t *in, size_t len, int level, struct oca_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* windowBits 15 + 16: a gzip header and trailer rather than zlib's. */
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    size_t bound = deflateBound(&zs, (uLong)len);
    oca_buf_reserve(out, bound);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->data + out->len;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    size_t n = bound - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        out->data[out->len] = '\0';
        return false;
    }
    out->len += n;
    out->data[out->len] = '\0';
    return true;
}
