/* Internals shared by the files of net/ (not for use outside it, except by net's tests and fuzz
 * harnesses): the server, its connections and their streams. tcp.c owns sockets, timers, the
 * write queue and the protocol sniff; http1.c and http2.c plug in as a protocol (struct
 * oca_proto); http_server.c holds what both protocols share about streams. */
#ifndef OCA_NET_CONN_H
#define OCA_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "net/http_server.h"

struct oca_arena;
struct oca_conn;
struct oca_tls;
struct oca_tls_ctx;

/* Connections stop reading once this many response bytes wait to be written. */
#define OCA_CONN_OUT_HIGH (1024 * 1024)
/* HTTP/1.1: after an early answer, at most this much unread body is read and dropped to keep the
 * connection; beyond it the connection closes after the answer (as Go's net/http). */
#define OCA_HTTP1_DISCARD_MAX (256 * 1024)
/* How long a connection that is closing after an error answer keeps draining input, so the peer
 * reads the answer instead of a reset. */
#define OCA_CONN_LINGER_MS 2000
/* How long a closing server waits for connections to flush their last bytes (GOAWAY). */
#define OCA_SERVER_CLOSE_GRACE_MS 1000

struct oca_http_server {
    uv_loop_t *loop;
    const struct oca_http_server_config *cfg;
    struct oca_http_server_config *own_cfg; /* cfg with zero limits replaced by the defaults */
    const struct oca_http_handler *handler;
    void *handler_data;
    char *who;
    struct oca_tls_ctx *tls;
    uv_tcp_t listener;
    uv_idle_t service;              /* runs the queue of connections with deferred work */
    uv_timer_t grace;               /* forces connections closed when a server close lingers */
    bool listener_open, service_open, grace_open, started, closing;
    int handles;                    /* server handles not yet through their close callback */
    uint16_t port;
    struct oca_conn *conns;         /* every open connection (doubly linked) */
    struct oca_conn *queue;         /* connections with deferred work (singly linked) */
    struct oca_conn **queue_tail;
    void (*done)(struct oca_http_server *srv, void *arg);
    void *done_arg;
    struct oca_http_server_stats stats;
    uint8_t rbuf[65536];            /* shared read buffer: read callbacks consume it at once */
    uint8_t pbuf[16384];            /* shared TLS plaintext buffer */
};

/* A protocol spoken on a connection. Every function runs from a top-level entry of tcp.c (read,
 * write, timer, or the service queue), never from inside a handler callback. */
struct oca_proto {
    int version;
    void (*init)(struct oca_conn *c);
    /* Bytes from the peer, in order. */
    void (*recv)(struct oca_conn *c, const uint8_t *data, size_t len);
    /* Deferred work: deliver held events, produce output into the connection. */
    void (*service)(struct oca_conn *c);
    /* The peer closed its sending side. */
    void (*eof)(struct oca_conn *c);
    /* The next deadline in uv_now() ms (0: none); *what names it for the log. */
    uint64_t (*deadline)(struct oca_conn *c, const char **what, bool *idle);
    /* The deadline passed: answer what is due and ask tcp.c to close. */
    void (*timeout)(struct oca_conn *c, bool idle);
    /* The server is closing: say goodbye (GOAWAY) before the connection closes. */
    void (*goaway)(struct oca_conn *c);
    /* The connection is going away: every stream gets on_close, then the state is freed. */
    void (*destroy)(struct oca_conn *c);
    /* Stream response side (see http_server.h). */
    int (*respond)(struct oca_http_stream *s, int status, const struct oca_http_header *h, size_t n,
                   const void *body, size_t len);
    int (*send_headers)(struct oca_http_stream *s, int status, const struct oca_http_header *h, size_t n);
    int (*send_data)(struct oca_http_stream *s, const void *data, size_t len);
    int (*send_end)(struct oca_http_stream *s, const struct oca_http_header *t, size_t n);
    void (*reset)(struct oca_http_stream *s);
    void (*pause)(struct oca_http_stream *s);
    void (*resume)(struct oca_http_stream *s);
};

extern const struct oca_proto oca_http1_proto;
extern const struct oca_proto oca_http2_proto;

enum oca_conn_pause { OCA_PAUSE_PROTO = 1, OCA_PAUSE_OUTPUT = 2, OCA_PAUSE_CLOSING = 4 };

struct oca_conn {
    struct oca_http_server *srv;
    struct oca_conn *prev, *next;   /* srv->conns */
    struct oca_conn *qnext;         /* srv->queue */
    bool queued;
    bool memory;                    /* no socket: driven from memory (fuzzing); output is dropped */
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    int handles;                    /* handles not yet through their close callback */
    char peer[64];
    struct oca_tls *tls;            /* NULL for cleartext */
    bool tls_ready;
    const struct oca_proto *proto;  /* NULL until sniffed (or chosen by ALPN) */
    void *ps;                       /* the protocol's state */
    uint8_t sniff[24];
    size_t sniff_len;
    struct oca_buf out;             /* bytes waiting for the next uv_write */
    size_t inflight;                /* bytes handed to uv_write, not yet completed */
    unsigned read_pause;            /* enum oca_conn_pause bits; reading while 0 */
    bool reading;
    bool eof;                       /* the peer closed its side */
    bool close_after_flush;         /* close once out and inflight are empty */
    bool linger;                    /* ... but shut down and drain input first */
    bool lingering;                 /* draining input until EOF or the linger timer */
    bool closing;                   /* handles are being closed */
    bool destroyed;                 /* the protocol state is gone */
    uint64_t started_ms;            /* accept time */
    uint64_t last_read_ms;
};

/* Called by the protocols. */
void oca_conn_write(struct oca_conn *c, const void *data, size_t len);  /* through TLS if any */
size_t oca_conn_pending_out(const struct oca_conn *c);                  /* out + inflight */
void oca_conn_queue(struct oca_conn *c);        /* run proto->service at the next turn */
void oca_conn_read_pause(struct oca_conn *c, unsigned why);
void oca_conn_read_resume(struct oca_conn *c, unsigned why);
/* Close once everything queued is written; linger: shut down and drain input first. */
void oca_conn_close_after_flush(struct oca_conn *c, bool linger);
/* Close now (only from a top-level entry). */
void oca_conn_close(struct oca_conn *c, const char *why);
uint64_t oca_conn_now(const struct oca_conn *c);

/* A connection without a socket, for the fuzz harnesses: bytes go in with oca_conn_feed (which
 * also runs the deferred work; data NULL means the peer closed, len 0 only runs the deferred
 * work), the protocol is sniffed as for a socket, output is dropped. */
struct oca_conn *oca_conn_new_memory(struct oca_http_server *srv);
void oca_conn_feed(struct oca_conn *c, const uint8_t *data, size_t len);
void oca_conn_free_memory(struct oca_conn *c);

/* A request of either protocol. */
struct oca_http_stream {
    struct oca_conn *conn;
    struct oca_arena *arena;        /* headers, method, path: freed with the stream */
    const struct oca_http_handler *handler;
    void *handler_data;
    void *user;
    char *method, *path, *query;
    struct oca_http_header *headers;
    size_t n_headers, cap_headers;
    size_t header_bytes;            /* counted against max_header_bytes */
    uint64_t begin_ms;              /* first byte of the request (header timeout) */
    uint64_t content_length;        /* UINT64_MAX when not given */
    bool headers_done;              /* on_headers ran (or the server answered instead) */
    bool handler_called;            /* on_headers ran: on_close is owed */
    bool streaming, paused;
    bool req_ended;                 /* the request's last byte arrived */
    bool end_delivered;             /* on_end ran */
    bool discard;                   /* answered before the request ended: drop the body */
    bool resp_started, resp_ended;
    bool reset_requested;
    bool closed;                    /* on_close ran */
    struct oca_buf body;            /* buffered mode */
    uint64_t body_bytes;            /* received so far, buffered or not */
    /* HTTP/2 only. */
    int32_t id;
    struct oca_http_stream *prev, *next;
    struct oca_buf rsp;             /* response bytes not yet taken by nghttp2 */
    size_t rsp_off;
    bool rsp_deferred;              /* the data provider said DEFERRED */
    struct oca_http_header *trailers;
    size_t n_trailers;
    struct oca_buf held;            /* DATA received while paused, not yet consumed */
    size_t unconsumed;              /* delivered, not yet given back to flow control */
    bool too_big;                   /* headers over max_header_bytes */
    bool in_header_phase;
    int status;
};

/* Streams: allocation and handler dispatch (http_server.c). */
struct oca_http_stream *oca_stream_new(struct oca_conn *c);
void oca_stream_free(struct oca_http_stream *s);
/* Adds a header; the name is lower-cased. Returns false over max_header_bytes. */
bool oca_stream_add_header(struct oca_http_stream *s, const char *name, size_t nlen, const char *value,
                           size_t vlen);
/* Splits "/path?query" into path and query. */
void oca_stream_set_target(struct oca_http_stream *s, const char *target, size_t len);
/* Handler calls; each is made at most as the contract in http_server.h allows. */
void oca_stream_call_headers(struct oca_http_stream *s);
void oca_stream_call_body(struct oca_http_stream *s, const uint8_t *data, size_t len);
void oca_stream_call_end(struct oca_http_stream *s);
void oca_stream_call_close(struct oca_http_stream *s);
/* A short plain-text answer from the server itself (400, 408, 413, 431 ...). */
void oca_stream_respond_text(struct oca_http_stream *s, int status, const char *text);
/* The reason phrase of a status ("Not Found"). */
const char *oca_http_reason(int status);

#endif
