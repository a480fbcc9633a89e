/* gRPC server side over the HTTP server of net/http_server.h: routes "/pkg.Service/Method" to a
 * receiver's callbacks, deframes the 5-byte length-prefixed messages (identity, gzip or
 * zstd), enforces max_recv_msg_size and grpc-timeout, and answers with grpc-status / grpc-message /
 * grpc-status-details-bin trailers. A router is plain data that a receiver fills in; its own HTTP
 * handler delegates gRPC requests to it, so one listener serves gRPC and OTLP/HTTP alike. */
#ifndef OCA_NET_GRPC_H
#define OCA_NET_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/http_server.h"

struct oca_grpc_call;

/* The canonical gRPC status codes. */
enum oca_grpc_status {
    OCA_GRPC_OK = 0,
    OCA_GRPC_CANCELLED = 1,
    OCA_GRPC_UNKNOWN = 2,
    OCA_GRPC_INVALID_ARGUMENT = 3,
    OCA_GRPC_DEADLINE_EXCEEDED = 4,
    OCA_GRPC_NOT_FOUND = 5,
    OCA_GRPC_ALREADY_EXISTS = 6,
    OCA_GRPC_PERMISSION_DENIED = 7,
    OCA_GRPC_RESOURCE_EXHAUSTED = 8,
    OCA_GRPC_FAILED_PRECONDITION = 9,
    OCA_GRPC_ABORTED = 10,
    OCA_GRPC_OUT_OF_RANGE = 11,
    OCA_GRPC_UNIMPLEMENTED = 12,
    OCA_GRPC_INTERNAL = 13,
    OCA_GRPC_UNAVAILABLE = 14,
    OCA_GRPC_DATA_LOSS = 15,
    OCA_GRPC_UNAUTHENTICATED = 16,
};

/* One RPC method. Every callback runs on the loop thread. Between on_start and on_close the call
 * is live; on_close fires exactly once for every call whose on_start ran, and no function may be
 * called on the call after it returns. */
struct oca_grpc_method {
    const char *path;       /* "/opentelemetry.proto.collector.trace.v1.TraceService/Export" */
    /* Optional: the request headers are in and the method is known, before any message. The
     * handler may set call data, read metadata (oca_grpc_call_header) or finish at once. */
    void (*on_start)(struct oca_grpc_call *call);
    /* One whole request message, decompressed; msg is valid during the call only (copy to keep).
     * A unary handler typically sends its response and finishes here; a streaming one may be
     * called many times, and may send any number of messages back before finishing. */
    void (*on_message)(struct oca_grpc_call *call, const uint8_t *msg, size_t len);
    /* Optional: the client ended its side and every message was delivered. Not called when the
     * call was finished or cancelled before. */
    void (*on_half_close)(struct oca_grpc_call *call);
    /* Optional: the call is over: finished and flushed, reset by the client (RST_STREAM), its
     * connection closed, or its deadline passed (the layer then answered DEADLINE_EXCEEDED). */
    void (*on_close)(struct oca_grpc_call *call);
    void *data;             /* the method's own, see oca_grpc_call_method */
};

/* What a receiver registers: filled in by the receiver and outliving every call routed to it. */
struct oca_grpc_router {
    const struct oca_grpc_method *methods;
    size_t n_methods;
    uint64_t max_recv_msg_size;     /* bytes, compressed and decompressed; 0 means 4 MiB */
    void *data;                     /* initial call data of every call (see oca_grpc_call_data) */
    /* For a server whose handler is oca_grpc_handler only: requests that are not gRPC (see
     * oca_grpc_is_grpc) go to this handler instead; NULL answers them with HTTP 415. */
    const struct oca_http_handler *fallback;
    const char *who;                /* component id for log lines; NULL: "grpc" */
};

/* True when the request's content-type is application/grpc, application/grpc+proto,
 * application/grpc;... (not application/grpc-web). */
bool oca_grpc_is_grpc(const struct oca_http_stream *s);

/* Hands a request over to the router; only from an http handler's on_headers, typically when
 * oca_grpc_is_grpc(s). From then on the stream belongs to the gRPC layer: its on_body, on_end and
 * on_close go there (not to the caller's handler) and its user pointer is the layer's.
 * The layer answers by itself, without calling any method callback:
 *   HTTP/1.x                           -> HTTP 505 "gRPC requires HTTP/2"
 *   method other than POST             -> HTTP 405 with Allow: POST
 *   content-type not application/grpc* -> HTTP 415
 *   unknown path                       -> UNIMPLEMENTED "unknown method ..."
 *   grpc-encoding other than identity/gzip/zstd -> UNIMPLEMENTED, with grpc-accept-encoding
 *   malformed grpc-timeout             -> INTERNAL (as grpc-go)
 *   a message over max_recv_msg_size   -> RESOURCE_EXHAUSTED (compressed or decompressed; also a
 *                                         zstd frame asking for a larger window, see codec/unzstd.h)
 *   a corrupt gzip or zstd message, compressed flag without grpc-encoding, truncated last message
 *                                      -> INTERNAL
 *   the grpc-timeout deadline passes   -> DEADLINE_EXCEEDED, then on_close. */
void oca_grpc_route_headers(struct oca_grpc_router *router, struct oca_http_stream *s);

/* A ready-made handler for a server that serves only gRPC: the server's handler_data must be the
 * struct oca_grpc_router; non-gRPC requests go to router->fallback (or get 415). */
extern const struct oca_http_handler oca_grpc_handler;

/* Call accessors. */
void *oca_grpc_call_data(const struct oca_grpc_call *call);        /* router->data until set */
void oca_grpc_call_set_data(struct oca_grpc_call *call, void *data);
void *oca_grpc_call_router_data(const struct oca_grpc_call *call); /* always router->data */
const struct oca_grpc_method *oca_grpc_call_method(const struct oca_grpc_call *call);
struct oca_http_stream *oca_grpc_call_stream(const struct oca_grpc_call *call); /* peer, headers */
/* A request header (metadata), case-insensitive, NUL-terminated, or NULL. */
const char *oca_grpc_call_header(const struct oca_grpc_call *call, const char *name);
/* The deadline from grpc-timeout in uv_now() milliseconds of the loop, or 0 when none. */
uint64_t oca_grpc_call_deadline(const struct oca_grpc_call *call);
/* True once the call was finished (by the handler or the layer) or cancelled. */
bool oca_grpc_call_done(const struct oca_grpc_call *call);

/* From inside on_message only: takes the memory that holds msg (the message just delivered) away
 * from the call, to keep it without a copy. Returns the start of that malloc'd block, which the
 * caller frees with free() (msg stays at the same address inside it), or NULL when the message
 * cannot be taken (then copy it). */
void *oca_grpc_call_take_message(struct oca_grpc_call *call, const uint8_t *msg);

/* Streaming backpressure: while paused, no on_message (nor on_half_close) is delivered, and the
 * request body is no longer consumed, so the client is stopped by HTTP/2 flow control.
 * Resume delivers the held messages before it returns (unless paused again on the way), so it may
 * call on_message, on_half_close and, if the handler finishes there, nothing else. Pausing and
 * resuming from inside on_message is allowed. */
void oca_grpc_call_pause(struct oca_grpc_call *call);
void oca_grpc_call_resume(struct oca_grpc_call *call);

/* Response side. Each copies what it is given; each returns OCA_OK, or OCA_ERR_INVALID once the
 * call is done (finished or cancelled), in which case nothing is sent. */
/* Optional initial metadata: response headers (:status 200, content-type application/grpc) plus
 * these; sent at once. Without it, the first message or the finish sends the headers. */
int oca_grpc_send_headers(struct oca_grpc_call *call, const struct oca_http_header *md, size_t n_md);
/* One response message, framed (uncompressed) after the response headers. */
int oca_grpc_send_message(struct oca_grpc_call *call, const uint8_t *msg, size_t len);
/* Ends the call with trailers: grpc-status, grpc-message (percent-encoded; omitted when NULL or
 * empty) and, when details_len > 0, grpc-status-details-bin (the bytes of a serialized
 * google.rpc.Status, base64 without padding). Before any headers were sent this is a
 * trailers-only response. Any request bytes still to come are discarded. on_close follows once
 * the answer is flushed (never from inside this function). */
int oca_grpc_finish(struct oca_grpc_call *call, int grpc_status, const char *message,
                    const uint8_t *status_details, size_t details_len);
/* oca_grpc_finish with the status and message of an OCA_OK / OCA_ERR_* code from base/errors.h. */
int oca_grpc_finish_err(struct oca_grpc_call *call, int err);

/* Percent-encodes a grpc-message value as the gRPC spec asks (bytes outside 0x20..0x7e and '%').
 * Returns a malloc'd string. */
char *oca_grpc_percent_encode(const char *msg);
/* The reverse, for a received grpc-message: writes at most n bytes to out and returns how many.
 * A '%' not followed by two hex digits is kept as it is (the spec forbids failing on it). */
size_t oca_grpc_percent_decode(const char *in, size_t n, char *out);
/* Decodes a binary (-bin) header value, base64 with or without padding, into out (room for
 * 3 * (n + 3) / 4 bytes). Returns the length, or -1 when the value is not base64. */
long oca_grpc_base64_decode(const char *in, size_t n, uint8_t *out);

/* The message deframer, usable without a connection (the fuzz harness drives it): bytes go in in
 * any chunking, whole decompressed messages come out one at a time. */
enum oca_grpc_encoding { OCA_GRPC_ENC_IDENTITY, OCA_GRPC_ENC_GZIP, OCA_GRPC_ENC_ZSTD };

struct oca_grpc_deframer {
    enum oca_grpc_encoding encoding;
    uint64_t max_msg;               /* bytes, compressed and decompressed */
    uint8_t *buf;                   /* received, not yet returned */
    size_t len, cap, off;
    uint8_t *out;                   /* the last message returned when decompressed */
    size_t out_cap;
    int err;                        /* sticky: the gRPC status of the first error, 0 when none */
    char why[128];
};

void oca_grpc_deframer_init(struct oca_grpc_deframer *d, enum oca_grpc_encoding enc, uint64_t max_msg);
void oca_grpc_deframer_free(struct oca_grpc_deframer *d);
/* Appends bytes. Callers feed only while the previous messages have been taken with _next. */
void oca_grpc_deframer_feed(struct oca_grpc_deframer *d, const uint8_t *data, size_t len);
/* The next whole message: 1 with *msg and *len set (valid until the next call on d), 0 when more bytes
 * are needed, or a negative gRPC status (-OCA_GRPC_RESOURCE_EXHAUSTED, -OCA_GRPC_INTERNAL) with a
 * static reason in *why. After an error the deframer only returns that error again. */
int oca_grpc_deframer_next(struct oca_grpc_deframer *d, const uint8_t **msg, size_t *len, const char **why);
/* Bytes of a started but incomplete message (nonzero at end of stream means truncated). */
size_t oca_grpc_deframer_pending(const struct oca_grpc_deframer *d);

/* Parses a grpc-timeout value ("100m", "5S", "1H": at most 8 digits and one unit of H M S m u n)
 * into nanoseconds; false when malformed. */
bool oca_grpc_parse_timeout(const char *value, int64_t *ns);

#endif
