/* Unary gRPC calls over the outbound HTTP client (net/http_client.h): one length-prefixed message
 * (gzip-compressed when asked, with grpc-encoding: gzip) POSTed over HTTP/2 with content-type
 * application/grpc, te: trailers and grpc-timeout; the answer's grpc-status, grpc-message and
 * grpc-status-details-bin (a google.rpc.Status whose RetryInfo gives the delay the server asks
 * for) are read from the trailers, or from the headers of a trailers-only response. */
#ifndef OCA_NET_GRPC_CLIENT_H
#define OCA_NET_GRPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/http_client.h"

struct oca_grpc_result {
    /* OCA_OK: the call ended with a gRPC status (grpc_status, which may itself be an error).
     * Otherwise as oca_http_response.err: OCA_ERR_TIMEOUT, OCA_ERR_UNAVAILABLE (no connection, a
     * broken one, or a response that is not gRPC: then grpc_status is derived from the HTTP status
     * as gRPC's http-grpc-status-mapping says), OCA_ERR_SHUTTING_DOWN. */
    int err;
    const char *detail;         /* err != OCA_OK: what went wrong */
    int http_status;            /* 0 when no response arrived */
    /* The gRPC code. No status read: 4 (DEADLINE_EXCEEDED) after OCA_ERR_TIMEOUT, 14 (UNAVAILABLE)
     * after other transport errors. A status 0 whose message cannot be read (corrupt gzip,
     * truncated, over the size cap) becomes INTERNAL or RESOURCE_EXHAUSTED, as grpc-go does. */
    int grpc_status;
    const char *grpc_message;   /* percent-decoded; "" when none */
    int64_t retry_delay_ns;     /* RetryInfo.retry_delay from grpc-status-details-bin; -1: none */
    /* status 0: the first response message, decompressed (empty, not NULL, when the server sent
     * none); else NULL. At most OCA_HTTP_CLIENT_MAX_RESPONSE bytes. */
    const uint8_t *msg;
    size_t msg_len;
};

/* Called exactly once per call, on the loop thread, never inside oca_grpc_unary. Every pointer in
 * res is valid only during the call. */
typedef void (*oca_grpc_done_cb)(void *arg, const struct oca_grpc_result *res);

/* What oca_grpc_unary does with the message. (A change to the issue 7 contract, which had a bool
 * gzip: compressing a large message takes long enough that exporters do it on libuv's thread pool
 * and hand over the result.) */
enum oca_grpc_coding {
    OCA_GRPC_IDENTITY,      /* sent as it is */
    OCA_GRPC_GZIP,          /* gzip-compressed here, on the calling thread, at OCA_GZIP_LEVEL */
    OCA_GRPC_GZIPPED,       /* already a gzip stream (compressed by the caller): sent as given */
};

/* Calls path ("/opentelemetry.proto.collector.trace.v1.TraceService/Export") on the server at
 * base_url ("http://host:port" for h2c, "https://host:port" for TLS). md are extra metadata
 * headers. msg is copied (framed, and compressed as coding says), so the caller may free it on
 * return; a compressed message goes with grpc-encoding: gzip. (oca_grpc_unary_pieces below sends
 * a message without that copy.)
 * timeout_ns > 0 is sent as grpc-timeout and bounds the call. Returns OCA_OK or
 * OCA_ERR_SHUTTING_DOWN (the client is closing; done will not run). */
int oca_grpc_unary(struct oca_http_client *c, const char *base_url, const char *path,
                   const struct oca_http_header *md, size_t n_md, const uint8_t *msg, size_t msg_len,
                   enum oca_grpc_coding coding, int64_t timeout_ns, oca_grpc_done_cb done, void *arg);

/* The gRPC length prefix's size: a compressed flag and a 4-byte length. */
#define OCA_GRPC_PREFIX_LEN 5

/* As oca_grpc_unary with coding IDENTITY (encoding NULL) or the message already compressed with
 * encoding (its grpc-encoding name: "gzip", "zstd"), without copying the message: it is
 * the concatenation of the n pieces of msg, which stay the caller's, borrowed until done has run
 * (or until the return when that is not OCA_OK); the array itself is copied. The length prefix
 * goes out as a piece of its own, so an exporter's encoding, or a raw batch's segments where they
 * lie, are what is sent (the push exporter's jobs: exporterhelper/push.h). */
int oca_grpc_unary_pieces(struct oca_http_client *c, const char *base_url, const char *path,
                          const struct oca_http_header *md, size_t n_md, const struct oca_slice *msg, size_t n,
                          const char *encoding, int64_t timeout_ns, oca_grpc_done_cb done, void *arg);

/* Reads a unary response: body (the HTTP/2 DATA bytes) and the headers and trailers of r, into res
 * (which points into body and r, and into scratch for decompressed or decoded parts; scratch must
 * stay alive while res is used and is freed with free()). Exposed for the fuzz harness; the
 * client calls it on every response. */
void oca_grpc_read_response(const struct oca_http_response *r, struct oca_grpc_result *res, void **scratch);

#endif
