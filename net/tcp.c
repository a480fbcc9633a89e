/* The HTTP server's sockets: the listener (max_connections), each connection's read and write
 * path (TLS through net/tls.c, the write queue with its backpressure bound), the protocol sniff
 * (HTTP/2 preface or ALPN, else HTTP/1.1), one timer per connection for the protocol's deadlines,
 * and the queue of deferred work that keeps handler calls and connection teardown apart. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "net/conn.h"
#include "net/http_server.h"
#include "net/tls.h"

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct write_req {
    uv_write_t req;
    struct oca_conn *conn;
    char *data;
    size_t len;
};

static void conn_update_timer(struct oca_conn *c);
static void conn_flush(struct oca_conn *c);
static void conn_after_io(struct oca_conn *c);
static void maybe_finish_close(struct oca_http_server *srv);

uint64_t oca_conn_now(const struct oca_conn *c)
{
    return uv_now(c->srv->loop);
}

static uint64_t ns_to_ms(int64_t ns)
{
    return ns <= 0 ? 0 : (uint64_t)((ns + OCA_NS_PER_MS - 1) / OCA_NS_PER_MS);
}

/* Server. */

static void service_cb(uv_idle_t *h);

struct oca_http_server *oca_http_server_new(uv_loop_t *loop, const struct oca_http_server_config *cfg,
                                            const struct oca_http_handler *handler, void *handler_data,
                                            const char *who)
{
    struct oca_http_server *srv = oca_xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->cfg = cfg;
    srv->handler = handler;
    srv->handler_data = handler_data;
    srv->who = oca_xstrdup(who ? who : "http");
    srv->queue_tail = &srv->queue;
    return srv;
}

/* A config filled by code rather than by the field table may leave limits at zero: those mean the
 * documented defaults. */
static struct oca_http_server_config *effective_config(const struct oca_http_server_config *in)
{
    struct oca_http_server_config *c = oca_xmalloc(sizeof(*c));
    *c = *in;
    if (!c->max_connections)
        c->max_connections = 1024;
    if (!c->max_concurrent_streams)
        c->max_concurrent_streams = 100;
    if (!c->max_header_bytes)
        c->max_header_bytes = 1024 * 1024;
    if (!c->max_request_body_size)
        c->max_request_body_size = 64u * 1024 * 1024;
    if (c->read_header_timeout_ns <= 0)
        c->read_header_timeout_ns = 10 * OCA_NS_PER_S;
    if (c->read_timeout_ns <= 0)
        c->read_timeout_ns = 30 * OCA_NS_PER_S;
    if (c->idle_timeout_ns <= 0)
        c->idle_timeout_ns = 60 * OCA_NS_PER_S;
    return c;
}

static void on_connection(uv_stream_t *listener, int status);

static int bind_listener(struct oca_http_server *srv)
{
    const struct oca_endpoint *ep = &srv->cfg->endpoint;
    const char *host = ep->host && *ep->host ? ep->host : NULL;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)ep->port);
    if (!host) {
        /* ":port" listens on every interface, IPv6 and IPv4 when the system allows. */
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        uv_ip6_addr("::", ep->port, a6);
    } else {
        /* As Go's net.Listen: a name listens on one of its addresses, IPv4 first. */
        uv_getaddrinfo_t req;
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
        int r = uv_getaddrinfo(srv->loop, &req, NULL, host, port, &hints);
        if (r != 0) {
            oca_log_error(srv->who, "cannot resolve %s: %s", host, uv_strerror(r));
            return OCA_ERR_CONFIG;
        }
        const struct addrinfo *pick = NULL;
        for (const struct addrinfo *ai = req.addrinfo; ai; ai = ai->ai_next)
            if (ai->ai_family == AF_INET && !pick)
                pick = ai;
        if (!pick)
            pick = req.addrinfo;
        if (!pick) {
            uv_freeaddrinfo(req.addrinfo);
            oca_log_error(srv->who, "%s has no address", host);
            return OCA_ERR_CONFIG;
        }
        memcpy(&ss, pick->ai_addr, pick->ai_addrlen);
        uv_freeaddrinfo(req.addrinfo);
    }
    uv_tcp_init(srv->loop, &srv->listener);
    srv->listener.data = srv;
    srv->listener_open = true;
    srv->handles++;
    int r = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
    if (r != 0) {
        oca_log_error(srv->who, "cannot listen on %s: %s", ep->text ? ep->text : "?", uv_strerror(r));
        return OCA_ERR_IO;
    }
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &len) == 0)
        srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                     : ((struct sockaddr_in *)&bound)->sin_port);
    return OCA_OK;
}

int oca_http_server_start(struct oca_http_server *srv)
{
    if (srv->started || srv->closing)
        return OCA_ERR_INVALID;
    srv->started = true;
    srv->cfg = srv->own_cfg = effective_config(srv->cfg);
    uv_idle_init(srv->loop, &srv->service);
    srv->service.data = srv;
    srv->service_open = true;
    srv->handles++;
    uv_timer_init(srv->loop, &srv->grace);
    srv->grace.data = srv;
    srv->grace_open = true;
    srv->handles++;
    if (srv->cfg->tls.cert_file) {
        int err = oca_tls_ctx_new(&srv->cfg->tls, srv->who, &srv->tls);
        if (err != OCA_OK)
            return err;
    }
    return bind_listener(srv);
}

uint16_t oca_http_server_port(const struct oca_http_server *srv)
{
    return srv->port;
}

void oca_http_server_get_stats(const struct oca_http_server *srv, struct oca_http_server_stats *out)
{
    *out = srv->stats;
}

static void server_handle_closed(uv_handle_t *h)
{
    struct oca_http_server *srv = h->data;
    srv->handles--;
    maybe_finish_close(srv);
}

static void maybe_finish_close(struct oca_http_server *srv)
{
    if (!srv->closing || srv->conns)
        return;
    if (srv->grace_open) {
        srv->grace_open = false;
        uv_close((uv_handle_t *)&srv->grace, server_handle_closed);
    }
    if (srv->service_open) {
        srv->service_open = false;
        uv_close((uv_handle_t *)&srv->service, server_handle_closed);
    }
    if (srv->handles == 0 && srv->done) {
        void (*done)(struct oca_http_server *, void *) = srv->done;
        srv->done = NULL;
        done(srv, srv->done_arg);
    }
}

static void grace_cb(uv_timer_t *t)
{
    struct oca_http_server *srv = t->data;
    for (struct oca_conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        oca_conn_close(c, "server closed");
    }
}

void oca_http_server_close(struct oca_http_server *srv, void (*done)(struct oca_http_server *srv, void *arg),
                           void *arg)
{
    if (srv->closing)
        return;
    srv->closing = true;
    srv->done = done;
    srv->done_arg = arg;
    if (srv->listener_open) {
        srv->listener_open = false;
        uv_close((uv_handle_t *)&srv->listener, server_handle_closed);
    }
    /* Every connection says goodbye (HTTP/2 GOAWAY), hands its streams on_close and closes once
     * its last bytes are written; the grace timer closes what a peer does not read. */
    for (struct oca_conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (c->closing)
            continue;
        if (c->proto && c->proto->goaway && !c->destroyed)
            c->proto->goaway(c);
        if (c->proto && !c->destroyed) {
            c->destroyed = true;
            c->proto->destroy(c);
        }
        oca_conn_read_pause(c, OCA_PAUSE_CLOSING);
        oca_conn_close_after_flush(c, false);
        conn_flush(c);
        conn_after_io(c);
    }
    if (srv->grace_open && srv->conns)
        uv_timer_start(&srv->grace, grace_cb, OCA_SERVER_CLOSE_GRACE_MS, 0);
    if (!srv->started) {
        /* Never started: nothing was opened. */
        if (done) {
            srv->done = NULL;
            done(srv, arg);
        }
        return;
    }
    maybe_finish_close(srv);
}

void oca_http_server_free(struct oca_http_server *srv)
{
    if (!srv)
        return;
    oca_tls_ctx_free(srv->tls);
    free(srv->own_cfg);
    free(srv->who);
    free(srv);
}

/* The service queue: deferred work runs from an idle handle, at the top of the loop. */

void oca_conn_queue(struct oca_conn *c)
{
    if (c->queued || c->closing)
        return;
    struct oca_http_server *srv = c->srv;
    c->queued = true;
    c->qnext = NULL;
    *srv->queue_tail = c;
    srv->queue_tail = &c->qnext;
    if (srv->service_open && !uv_is_active((uv_handle_t *)&srv->service))
        uv_idle_start(&srv->service, service_cb);
}

static void unqueue(struct oca_conn *c)
{
    if (!c->queued)
        return;
    struct oca_http_server *srv = c->srv;
    struct oca_conn **pp = &srv->queue;
    while (*pp && *pp != c)
        pp = &(*pp)->qnext;
    if (*pp) {
        *pp = c->qnext;
        if (srv->queue_tail == &c->qnext)
            srv->queue_tail = pp;
    }
    c->queued = false;
}

static void conn_service(struct oca_conn *c)
{
    if (c->closing)
        return;
    if (c->proto && !c->destroyed)
        c->proto->service(c);
    conn_flush(c);
    conn_after_io(c);
}

static void service_cb(uv_idle_t *h)
{
    struct oca_http_server *srv = h->data;
    /* Work queued while the queue runs waits for the next turn, so one busy connection cannot
     * hold the loop. */
    struct oca_conn *list = srv->queue;
    srv->queue = NULL;
    srv->queue_tail = &srv->queue;
    while (list) {
        struct oca_conn *c = list;
        list = c->qnext;
        c->queued = false;
        conn_service(c);
    }
    if (!srv->queue)
        uv_idle_stop(&srv->service);
}

/* Connections. */

static void conn_release(struct oca_conn *c)
{
    if (--c->handles > 0)
        return;
    struct oca_http_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->stats.open--;
    oca_buf_free(&c->out);
    free(c);
    maybe_finish_close(srv);
}

static void conn_handle_closed(uv_handle_t *h)
{
    conn_release(h->data);
}

void oca_conn_close(struct oca_conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    unqueue(c);
    oca_log_debug(c->srv->who, "connection %s closed: %s", c->peer, why);
    if (c->proto && !c->destroyed) {
        c->destroyed = true;
        c->proto->destroy(c);
    }
    c->ps = NULL;
    oca_tls_free(c->tls);
    c->tls = NULL;
    if (c->memory)
        return;
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct oca_conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)c->srv->rbuf, sizeof(c->srv->rbuf));
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void apply_read_state(struct oca_conn *c)
{
    if (c->memory || c->closing)
        return;
    bool want = (c->read_pause == 0 && !c->eof) || c->lingering;
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0)
            c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

void oca_conn_read_pause(struct oca_conn *c, unsigned why)
{
    c->read_pause |= why;
    apply_read_state(c);
}

void oca_conn_read_resume(struct oca_conn *c, unsigned why)
{
    c->read_pause &= ~why;
    apply_read_state(c);
}

size_t oca_conn_pending_out(const struct oca_conn *c)
{
    return c->out.len + c->inflight;
}

void oca_conn_write(struct oca_conn *c, const void *data, size_t len)
{
    if (c->closing || len == 0)
        return;
    if (c->tls) {
        if (!oca_tls_write(c->tls, data, len, &c->out))
            oca_conn_close_after_flush(c, false);
    } else {
        oca_buf_append(&c->out, data, len);
    }
}

void oca_conn_close_after_flush(struct oca_conn *c, bool linger)
{
    c->close_after_flush = true;
    if (linger)
        c->linger = true;
    oca_conn_queue(c);
}

static void write_cb(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct oca_conn *c = w->conn;
    c->inflight -= w->len;
    free(w->data);
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        oca_conn_close(c, uv_strerror(status));
        return;
    }
    /* Output drained below the bound: the protocol may produce more, and reading may resume. */
    if (c->proto && !c->destroyed)
        c->proto->service(c);
    conn_flush(c);
    conn_after_io(c);
}

static void conn_flush(struct oca_conn *c)
{
    if (c->closing || c->out.len == 0)
        return;
    if (c->memory) {
        oca_buf_reset(&c->out);
        return;
    }
    struct write_req *w = oca_xmalloc(sizeof(*w));
    w->conn = c;
    w->data = c->out.data;
    w->len = c->out.len;
    c->out = (struct oca_buf){ 0 };
    uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
    c->inflight += w->len;
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb);
    if (r != 0) {
        c->inflight -= w->len;
        free(w->data);
        free(w);
        oca_conn_close(c, uv_strerror(r));
    }
}

static void linger_cb(uv_timer_t *t)
{
    oca_conn_close(t->data, "linger over");
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct oca_conn *c = req->data;
    (void)status;
    if (c->closing) {
        conn_release(c);
        return;
    }
    c->handles--;
    /* Our side is closed: keep reading (and dropping) so the answer is not lost to a reset. */
    c->lingering = true;
    apply_read_state(c);
    uv_timer_stop(&c->timer);
    uv_timer_start(&c->timer, linger_cb, OCA_CONN_LINGER_MS, 0);
}

/* After reads, writes and deferred work: backpressure, closing when asked, the timer. */
static void conn_after_io(struct oca_conn *c)
{
    if (c->closing)
        return;
    if (oca_conn_pending_out(c) > OCA_CONN_OUT_HIGH)
        oca_conn_read_pause(c, OCA_PAUSE_OUTPUT);
    else if (c->read_pause & OCA_PAUSE_OUTPUT)
        oca_conn_read_resume(c, OCA_PAUSE_OUTPUT);
    if (c->close_after_flush && oca_conn_pending_out(c) == 0) {
        if (c->memory || !c->linger || c->eof) {
            oca_conn_close(c, "done");
            return;
        }
        if (!c->lingering && !c->shutdown_req.data) {
            c->shutdown_req.data = c;
            if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, shutdown_cb) == 0)
                c->handles++;
            else
                oca_conn_close(c, "shutdown failed");
        }
        return;
    }
    conn_update_timer(c);
}

static void timer_cb(uv_timer_t *t)
{
    struct oca_conn *c = t->data;
    if (c->closing || c->destroyed)
        return;
    if (!c->proto) {
        /* No protocol yet: a TLS handshake or a preface that never completed. */
        c->srv->stats.timeouts++;
        oca_conn_close(c, "read_header_timeout before the first request");
        return;
    }
    const char *what = NULL;
    bool idle = false;
    uint64_t due = c->proto->deadline(c, &what, &idle);
    if (due == 0 || due > oca_conn_now(c)) {
        conn_update_timer(c);
        return;
    }
    if (idle)
        c->srv->stats.idle_closed++;
    else
        c->srv->stats.timeouts++;
    oca_log_debug(c->srv->who, "connection %s: %s", c->peer, what ? what : "timeout");
    c->proto->timeout(c, idle);
    conn_flush(c);
    conn_after_io(c);
}

static void conn_update_timer(struct oca_conn *c)
{
    if (c->memory || c->closing || c->lingering)
        return;
    uint64_t due;
    if (!c->proto) {
        due = c->started_ms + ns_to_ms(c->srv->cfg->read_header_timeout_ns);
    } else {
        const char *what = NULL;
        bool idle = false;
        due = c->destroyed ? 0 : c->proto->deadline(c, &what, &idle);
    }
    if (due == 0) {
        uv_timer_stop(&c->timer);
        return;
    }
    uint64_t now = oca_conn_now(c);
    uv_timer_start(&c->timer, timer_cb, due > now ? due - now : 0, 0);
}

static void set_proto(struct oca_conn *c, const struct oca_proto *p)
{
    c->proto = p;
    p->init(c);
}

/* Plaintext from the peer (after TLS): sniff the protocol once, then hand it over. */
static void conn_recv_plain(struct oca_conn *c, const uint8_t *data, size_t len)
{
    if (c->closing || c->destroyed)
        return;
    if (!c->proto) {
        size_t take = 0;
        while (take < len && c->sniff_len + take < 24) {
            if (data[take] != (uint8_t)h2_preface[c->sniff_len + take])
                break;
            take++;
        }
        if (c->sniff_len + take == 24) {
            set_proto(c, &oca_http2_proto);
        } else if (take < len) {
            set_proto(c, &oca_http1_proto);
        } else {
            memcpy(c->sniff + c->sniff_len, data, take);
            c->sniff_len += take;
            return;
        }
        if (c->sniff_len) {
            uint8_t held[24];
            size_t n = c->sniff_len;
            memcpy(held, c->sniff, n);
            c->sniff_len = 0;
            c->proto->recv(c, held, n);
            if (c->closing || c->destroyed)
                return;
        }
    }
    c->proto->recv(c, data, len);
}

static void conn_recv(struct oca_conn *c, const uint8_t *data, size_t len)
{
    c->last_read_ms = oca_conn_now(c);
    if (c->lingering)
        return;
    if (!c->tls) {
        conn_recv_plain(c, data, len);
        return;
    }
    enum oca_tls_state st = oca_tls_feed(c->tls, data, len, &c->out);
    if (st == OCA_TLS_FAILED) {
        c->srv->stats.tls_failures++;
        oca_log_debug(c->srv->who, "TLS from %s: %s", c->peer, oca_tls_error(c->tls));
        oca_conn_close_after_flush(c, false);
        return;
    }
    if (st == OCA_TLS_HANDSHAKING)
        return;
    if (!c->tls_ready) {
        c->tls_ready = true;
        const char *alpn = oca_tls_alpn(c->tls);
        if (alpn && strcmp(alpn, "h2") == 0)
            set_proto(c, &oca_http2_proto);
        else if (alpn)
            set_proto(c, &oca_http1_proto);
    }
    for (;;) {
        if (c->closing || c->close_after_flush || c->destroyed)
            break;
        long n = oca_tls_read(c->tls, c->srv->pbuf, sizeof(c->srv->pbuf), &c->out);
        if (n == 0)
            break;
        if (n < 0) {
            c->eof = true;
            if (c->proto && !c->destroyed)
                c->proto->eof(c);
            oca_conn_close_after_flush(c, false);
            break;
        }
        conn_recv_plain(c, c->srv->pbuf, (size_t)n);
    }
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct oca_conn *c = stream->data;
    if (c->closing)
        return;
    if (nread < 0) {
        c->eof = true;
        if (c->lingering || nread != UV_EOF) {
            oca_conn_close(c, nread == UV_EOF ? "peer closed" : uv_strerror((int)nread));
            return;
        }
        apply_read_state(c);
        /* The protocol decides whether answers are still owed before the connection closes. */
        if (c->proto && !c->destroyed)
            c->proto->eof(c);
        else
            oca_conn_close_after_flush(c, false);
    } else if (nread > 0) {
        conn_recv(c, (const uint8_t *)buf->base, (size_t)nread);
    }
    if (c->closing)
        return;
    if (c->proto && !c->destroyed)
        c->proto->service(c);
    conn_flush(c);
    conn_after_io(c);
}

static void peer_name(uv_tcp_t *tcp, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    snprintf(out, cap, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

static void refused_closed(uv_handle_t *h)
{
    free(h);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct oca_http_server *srv = listener->data;
    if (status < 0) {
        oca_log_warn(srv->who, "accept: %s", uv_strerror(status));
        return;
    }
    srv->stats.accepted++;
    if (srv->closing || srv->stats.open >= srv->cfg->max_connections) {
        uv_tcp_t *t = oca_xmalloc(sizeof(*t));
        uv_tcp_init(srv->loop, t);
        if (uv_accept(listener, (uv_stream_t *)t) == 0) {
            srv->stats.refused++;
            oca_log_debug(srv->who, "connection refused: max_connections (%" PRIu32 ") reached",
                          srv->cfg->max_connections);
        }
        uv_close((uv_handle_t *)t, refused_closed);
        return;
    }
    struct oca_conn *c = oca_xcalloc(1, sizeof(*c));
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    uv_timer_init(srv->loop, &c->timer);
    c->timer.data = c;
    c->handles = 2;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->stats.open++;
    c->started_ms = c->last_read_ms = uv_now(srv->loop);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        oca_conn_close(c, "accept failed");
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    peer_name(&c->tcp, c->peer, sizeof(c->peer));
    if (srv->tls)
        c->tls = oca_tls_new(srv->tls);
    apply_read_state(c);
    conn_update_timer(c);
}

/* Memory connections (fuzzing). */

struct oca_conn *oca_conn_new_memory(struct oca_http_server *srv)
{
    if (!srv->started) {
        srv->cfg = srv->own_cfg = effective_config(srv->cfg);
        srv->started = true;
    }
    struct oca_conn *c = oca_xcalloc(1, sizeof(*c));
    c->srv = srv;
    c->memory = true;
    snprintf(c->peer, sizeof(c->peer), "memory");
    return c;
}

void oca_conn_feed(struct oca_conn *c, const uint8_t *data, size_t len)
{
    if (c->closing)
        return;
    if (!data) {
        c->eof = true;
        if (c->proto && !c->destroyed)
            c->proto->eof(c);
        oca_conn_close_after_flush(c, false);
    } else if (len > 0) {
        conn_recv(c, data, len);
    }
    /* Run the deferred work here: memory connections have no service handle. */
    for (int i = 0; i < 64 && !c->closing; i++) {
        unqueue(c);
        if (c->proto && !c->destroyed)
            c->proto->service(c);
        conn_flush(c);
        conn_after_io(c);
        if (!c->queued)
            break;
    }
}

void oca_conn_free_memory(struct oca_conn *c)
{
    oca_conn_close(c, "freed");
    unqueue(c);
    oca_buf_free(&c->out);
    free(c);
}
