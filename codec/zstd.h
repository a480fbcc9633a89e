/* zstd (RFC 8878) of several pieces as one frame, with libzstd: the exporters' `compression: zstd`,
 * as the Collector's (gRPC grpc-encoding: zstd, HTTP Content-Encoding: zstd). Pure CPU work on
 * bytes, so it may run on libuv's thread pool. Like gzip.h, decompression stays with its readers
 * (net/grpc.c, receivers/otlp/body.c), which bound what they produce. */
#ifndef OCA_CODEC_ZSTD_H
#define OCA_CODEC_ZSTD_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

/* The Collector's default for zstd (its level -1 maps to klauspost's SpeedFastest, zstd's level 1):
 * on the bench's spans about 14 times zlib level 6's speed for a smaller output. */
#define OCA_ZSTD_LEVEL 1

/* Appends one zstd frame of the concatenation of the n parts (its size in the frame header) to
 * out, which stays NUL-terminated. Returns true, or false when libzstd fails (it can only fail to
 * allocate); out is then as it was. */
bool oca_zstdv(const struct oca_slice *parts, size_t n, int level, struct oca_buf *out);

#endif
