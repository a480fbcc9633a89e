/* gzip (RFC 1952) of a whole buffer (or of several pieces as one stream) in one call, with zlib: the one compressor every exporter's
 * request body, gRPC message and Prometheus scrape goes through. Pure CPU work on bytes, so it may
 * run on libuv's thread pool. Decompression stays with its readers (net/grpc.c's bounded inflate of
 * one message, receivers/otlp/body.c's streaming one). */
#ifndef OCA_CODEC_GZIP_H
#define OCA_CODEC_GZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* zlib's default, which is also Go's compress/gzip DefaultCompression, the level the Collector's
 * exporters send with. */
#define OCA_GZIP_LEVEL 6

/* Appends the gzip of len bytes of in (NULL when len is 0), compressed at level (1 fastest to 9
 * smallest), to out, which stays NUL-terminated. Returns true, or false when zlib fails (it can only
 * fail to allocate its state); out is then as it was. */
bool oca_gzip(const uint8_t *in, size_t len, int level, struct oca_buf *out);

/* As oca_gzip, of the concatenation of n parts, without concatenating them first (a raw batch's
 * segments are gzipped where they lie). */
bool oca_gzipv(const struct oca_slice *parts, size_t n, int level, struct oca_buf *out);

#endif
