/* The agent's HTTP server: one listener that serves HTTP/1.1 and HTTP/2 (h2c with prior knowledge,
 * sniffed from the connection preface, and h2 over TLS chosen by ALPN) on the libuv loop, with TLS
 * terminated by OpenSSL when configured. Receivers and the agent's own endpoints see one request
 * abstraction whatever the protocol: a stream with a method, a path, headers and a body, answered
 * with a status, headers, a body and (HTTP/2, for gRPC) trailers. Limits that protect the agent
 * (connections, header size, header/body/idle timeouts, streams per connection, body size) are
 * enforced here, so a slow or hostile client costs one connection and nothing else. */
#ifndef OCA_NET_HTTP_SERVER_H
#define OCA_NET_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/fields.h"

struct oca_http_server;
struct oca_http_stream;

/* TLS for a listener; off unless cert_file is set. Keys as the Collector's configtls. */
struct oca_tls_server_config {
    char *cert_file;
    char *key_file;
    char *client_ca_file;       /* set: clients must present a certificate signed by it (mTLS) */
    int min_version;            /* enum oca_tls_version */
    bool present;               /* the tls key was written */
};

enum oca_tls_version { OCA_TLS_1_0, OCA_TLS_1_1, OCA_TLS_1_2, OCA_TLS_1_3 };
/* "1.0" .. "1.3": the min_version values of server and client tls sections alike. */
extern const struct oca_enum_name oca_tls_version_names[];

/* The keys of a tls section: cert_file, key_file, client_ca_file, min_version ("1.2" default). */
extern const struct oca_field oca_tls_server_fields[];

/* Everything a listener needs. Receivers embed one and list its keys in their own table with
 * OCA_HTTP_SERVER_FIELDS(S, member, default_endpoint) (see below), so the keys stay flat as in the
 * Collector (protocols.grpc.endpoint, protocols.grpc.tls.cert_file, ...). */
struct oca_http_server_config {
    struct oca_endpoint endpoint;
    struct oca_tls_server_config tls;
    uint32_t max_connections;           /* further connections are accepted and closed at once */
    uint32_t max_concurrent_streams;    /* HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS */
    uint64_t max_header_bytes;          /* request line + headers; over it: 431 / stream reset */
    uint64_t max_request_body_size;     /* raw body bytes; over it: 413 (HTTP) */
    int64_t read_header_timeout_ns;     /* from connection or request start to the end of headers */
    int64_t read_timeout_ns;            /* longest gap between two reads while a body is due */
    int64_t idle_timeout_ns;            /* a connection with no request in flight is closed after */
};

/* The field-table entries of an embedded struct oca_http_server_config, flat in the receiver's own
 * table: `OCA_HTTP_SERVER_FIELDS(struct grpc_proto, server, "localhost:4317"), OCA_FIELD_U32(...),
 * OCA_FIELD_END`. Defaults are those a Collector user expects (see each doc string). */
#define OCA_HTTP_SERVER_FIELDS(S, m, default_endpoint) \
    { .name = "endpoint", .kind = OCA_FIELD_KIND_ENDPOINT, \
      .offset = OCA_FIELD_AT(S, m.endpoint, struct oca_endpoint), .def = default_endpoint, .listen = true, \
      .doc = "host:port to listen on; \":port\" listens on every interface." }, \
    { .name = "tls", .kind = OCA_FIELD_KIND_SECTION, \
      .offset = OCA_FIELD_AT(S, m.tls, struct oca_tls_server_config), .sub = oca_tls_server_fields, \
      .present_offset = OCA_FIELD_AT(S, m.tls.present, bool), .has_present = true, \
      .doc = "TLS for this listener (off unless cert_file is set); with client_ca_file, mutual TLS." }, \
    { .name = "max_connections", .kind = OCA_FIELD_KIND_U32, \
      .offset = OCA_FIELD_AT(S, m.max_connections, uint32_t), .def = "1024", .min = 1, .max = 1000000, \
      .doc = "Most connections open at once; further ones are accepted and closed at once. Each " \
             "also costs a file descriptor, so keep it below the process's open-files limit." }, \
    { .name = "max_concurrent_streams", .kind = OCA_FIELD_KIND_U32, \
      .offset = OCA_FIELD_AT(S, m.max_concurrent_streams, uint32_t), .def = "100", .min = 1, \
      .max = 2147483647, \
      .doc = "HTTP/2 streams (requests, gRPC calls) open at once on one connection; clients queue " \
             "the rest. gRPC servers default to unlimited; 100 is the HTTP/2 spec's recommended minimum." }, \
    { .name = "max_header_bytes", .kind = OCA_FIELD_KIND_SIZE, \
      .offset = OCA_FIELD_AT(S, m.max_header_bytes, uint64_t), .def = "1MiB", .min = 1024, \
      .max = INT64_C(67108864), \
      .doc = "Largest request line plus headers (HTTP/1.1: answered 431 and closed; HTTP/2: the " \
             "stream is refused). 1MiB as Go's net/http." }, \
    { .name = "max_request_body_size", .kind = OCA_FIELD_KIND_SIZE, \
      .offset = OCA_FIELD_AT(S, m.max_request_body_size, uint64_t), .def = "64MiB", .min = 1, \
      .max = INT64_C(4294967296), \
      .doc = "Largest request body, answered 413. The OTLP receiver applies it both to the bytes " \
             "received and after decompression. Streamed gRPC bodies are bounded per message by " \
             "max_recv_msg_size instead." }, \
    { .name = "read_header_timeout", .kind = OCA_FIELD_KIND_DURATION, \
      .offset = OCA_FIELD_AT(S, m.read_header_timeout_ns, int64_t), .def = "10s", .min = OCA_NS_PER_MS, \
      .max = 3600 * OCA_NS_PER_S, \
      .doc = "Time allowed from a connection's start (or a request's first byte) to the end of the " \
             "request headers; a client that trickles them is cut off." }, \
    { .name = "read_timeout", .kind = OCA_FIELD_KIND_DURATION, \
      .offset = OCA_FIELD_AT(S, m.read_timeout_ns, int64_t), .def = "30s", .min = OCA_NS_PER_MS, \
      .max = 3600 * OCA_NS_PER_S, \
      .doc = "Longest silence while a request body is due; the connection is then closed. Streamed " \
             "gRPC calls are exempt (a stream may be quiet for long)." }, \
    { .name = "idle_timeout", .kind = OCA_FIELD_KIND_DURATION, \
      .offset = OCA_FIELD_AT(S, m.idle_timeout_ns, int64_t), .def = "60s", .min = OCA_NS_PER_MS, \
      .max = 24 * 3600 * OCA_NS_PER_S, \
      .doc = "A keep-alive connection with no request in flight is closed after this long (HTTP/2: " \
             "with GOAWAY); clients reconnect transparently. 60s as the Collector's confighttp." }

struct oca_diag;
/* Rules across the fields above: key_file required with cert_file and the reverse, client_ca_file
 * only with cert_file. prefix is the dotted key path of the section that embeds the config
 * ("protocols.grpc"), used in the messages. Returns OCA_OK or OCA_ERR_CONFIG. */
int oca_http_server_config_validate(const struct oca_http_server_config *cfg, const char *prefix,
                                    struct oca_diag *diag);

/* One header; names are lower case on input (both protocols) and sent as given on output. */
struct oca_http_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Callbacks of whoever serves the requests. All run on the loop thread. Body bytes are either
 * buffered by the server (default: on_end gets the whole body, up to max_request_body_size) or,
 * after oca_http_stream_stream_body() in on_headers, handed over chunk by chunk (gRPC streams). */
struct oca_http_handler {
    /* Request line and headers are complete. The handler may answer at once (404, 405, 415, a 413
     * from Content-Length ...); the body is then discarded by the server (HTTP/1.1: read and
     * dropped up to 256 KiB, else the connection closes after the answer; HTTP/2: the stream is
     * reset once the answer is sent) and neither on_body nor on_end is called. */
    void (*on_headers)(struct oca_http_stream *s);
    /* Streaming mode only: the next piece of body, in order. The bytes are valid during the call. */
    void (*on_body)(struct oca_http_stream *s, const uint8_t *data, size_t len);
    /* The request is complete. Buffered mode: body/len is all of it, valid until on_close
     * (streaming mode: NULL, 0). The answer may be given here or later, from any callback of the
     * loop, as long as on_close has not run. A buffered body over max_request_body_size (by
     * Content-Length, checked after on_headers, or as it arrives) never reaches on_end: the server
     * answers 413 itself and then calls on_close. A streamed body is not bounded by the server:
     * the handler enforces its own limit, and can answer in its own format. */
    void (*on_end)(struct oca_http_stream *s, const uint8_t *body, size_t len);
    /* The stream is finished (answered in full and handed to the connection, reset by the peer,
     * timed out, or its connection closed). Called once for every stream whose on_headers ran; no call may be made
     * on s afterwards. May be NULL. */
    void (*on_close)(struct oca_http_stream *s);
};

/* Creates a server for cfg; nothing is bound yet. handler and cfg must outlive the server. */
struct oca_http_server *oca_http_server_new(uv_loop_t *loop, const struct oca_http_server_config *cfg,
                                            const struct oca_http_handler *handler, void *handler_data,
                                            const char *who);
/* Loads TLS material and binds; logs and returns OCA_ERR_CONFIG or OCA_ERR_IO with the reason. */
int oca_http_server_start(struct oca_http_server *srv);
/* The port actually bound (useful with port 0). */
uint16_t oca_http_server_port(const struct oca_http_server *srv);
/* Stops accepting and closes every connection: HTTP/2 ones get GOAWAY (NO_ERROR), every open stream
 * gets on_close (possibly before this returns), and connections that do not take their last bytes
 * within a second are cut. done fires once all handles are closed; then the server may be freed
 * with oca_http_server_free. Not to be called from inside one of this server's handler callbacks.
 * Safe on a server that was never started (done fires at once) or failed to start. */
void oca_http_server_close(struct oca_http_server *srv, void (*done)(struct oca_http_server *srv, void *arg),
                           void *arg);
void oca_http_server_free(struct oca_http_server *srv);

/* What a listener has done so far (tests, self-telemetry). */
struct oca_http_server_stats {
    uint64_t accepted;              /* connections taken in (refused ones included) */
    uint64_t refused;               /* closed at once because max_connections were open */
    uint64_t open;                  /* open now */
    uint64_t timeouts;              /* closed by read_header_timeout / read_timeout */
    uint64_t idle_closed;           /* closed by idle_timeout */
    uint64_t tls_failures;          /* TLS handshakes that failed */
    uint64_t protocol_errors;       /* 400s, 431s, GOAWAY PROTOCOL_ERROR ... */
};
void oca_http_server_get_stats(const struct oca_http_server *srv, struct oca_http_server_stats *out);

/* Request side. */
void *oca_http_stream_handler_data(const struct oca_http_stream *s);
void oca_http_stream_set_user(struct oca_http_stream *s, void *user);
void *oca_http_stream_user(const struct oca_http_stream *s);
int oca_http_stream_version(const struct oca_http_stream *s);     /* 1 or 2 */
const char *oca_http_stream_method(const struct oca_http_stream *s);
const char *oca_http_stream_path(const struct oca_http_stream *s);  /* without the query */
const char *oca_http_stream_query(const struct oca_http_stream *s); /* "" when none */
/* The first header of that name (case-insensitive), NUL-terminated, or NULL. */
const char *oca_http_stream_header(const struct oca_http_stream *s, const char *name);
size_t oca_http_stream_header_count(const struct oca_http_stream *s);
const struct oca_http_header *oca_http_stream_header_at(const struct oca_http_stream *s, size_t i);
const char *oca_http_stream_peer(const struct oca_http_stream *s);  /* "ip:port" */
/* Hands the rest of the stream (on_body, on_end, on_close) to another handler, whose
 * oca_http_stream_handler_data becomes handler_data; only from on_headers (the gRPC layer takes
 * over a stream this way, see oca_grpc_route_headers). */
void oca_http_stream_set_handler(struct oca_http_stream *s, const struct oca_http_handler *h,
                                 void *handler_data);
/* The loop the stream's server runs on. */
uv_loop_t *oca_http_stream_loop(const struct oca_http_stream *s);
/* True when the connection is TLS. */
bool oca_http_stream_is_tls(const struct oca_http_stream *s);
/* Switch to streaming mode; only from on_headers. */
void oca_http_stream_stream_body(struct oca_http_stream *s);
/* Streaming mode backpressure: stop handing over body (HTTP/2: the flow-control window is not
 * reopened; HTTP/1.1: the socket is not read) until resumed. */
void oca_http_stream_pause(struct oca_http_stream *s);
void oca_http_stream_resume(struct oca_http_stream *s);

/* Response side; the server copies everything it is given and adds content-length (or HTTP/1.1
 * chunking) itself, plus "connection: close" when the HTTP/1.1 connection will close. Each returns
 * OCA_OK, or OCA_ERR_INVALID when called out of order (a second response, data before headers,
 * anything after the end) and nothing is sent. A complete response in one call: */
int oca_http_respond(struct oca_http_stream *s, int status, const struct oca_http_header *headers,
                     size_t n_headers, const void *body, size_t len);
/* Or in pieces: headers, any number of data pieces, then the end (HTTP/2 trailers for gRPC; an
 * HTTP/1.1 response sent in pieces is chunked and its trailers are sent as chunked trailers). */
int oca_http_send_headers(struct oca_http_stream *s, int status, const struct oca_http_header *headers,
                          size_t n_headers);
int oca_http_send_data(struct oca_http_stream *s, const void *data, size_t len);
int oca_http_send_end(struct oca_http_stream *s, const struct oca_http_header *trailers, size_t n_trailers);
/* Abandons the stream without (more of) an answer: HTTP/2 RST_STREAM (CANCEL), HTTP/1.1 closes the
 * connection. on_close follows (never from inside this call). */
void oca_http_stream_reset(struct oca_http_stream *s);

#endif
