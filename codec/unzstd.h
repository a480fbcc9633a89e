/* zstd decompression's one policy (RFC 8878), for the two readers that decompress untrusted bytes
 * and bound what they produce (receivers/otlp/body.c, net/grpc.c): how large a window a frame may
 * ask for, and which libzstd errors are a size refusal rather than corrupt data. The decoding
 * itself stays with each reader, as gzip's does. */
#ifndef OCA_CODEC_UNZSTD_H
#define OCA_CODEC_UNZSTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

/* The smallest window limit: klauspost/compress's default encoder window (8 MiB), which the
 * Collector's HTTP exporters declare for every body longer than one block, whatever its size. */
#define OCA_UNZSTD_MIN_WINDOW ((uint64_t)8 << 20)

/* The largest window (bytes) a decoder for output of at most max_out bytes accepts: the power of
 * two at or above max(OCA_UNZSTD_MIN_WINDOW, max_out), within libzstd's bounds. */
uint64_t oca_unzstd_window_max(uint64_t max_out);

/* A new decoder for output of at most max_out bytes (free with ZSTD_freeDStream), with its window
 * limited to oca_unzstd_window_max(max_out). Aborts when libzstd cannot allocate, as oca_xmalloc. */
ZSTD_DStream *oca_unzstd_new(uint64_t max_out);

/* True when ret, an error from ZSTD_decompressStream, refused a frame for the window it asks for:
 * the sender wants more memory than this reader gives (a size refusal, as over the limit), not
 * corrupt data. */
bool oca_unzstd_window_refused(size_t ret);

#endif
