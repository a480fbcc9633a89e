/* HTTP/2 on a connection with an nghttp2 server session driven from memory (mem_recv / mem_send:
 * the session never sees a socket). Requests become streams; bodies are buffered or streamed, and a
 * paused stream stops the sender through flow control (no automatic WINDOW_UPDATE: bytes are given
 * back with nghttp2_session_consume only once the handler took them). Responses go through a data
 * provider, trailers through nghttp2_submit_trailer; protocol errors end the connection with GOAWAY. */
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "net/conn.h"

/* Per-stream receive window, and the connection's: large enough for OTLP batches to flow at
 * loopback speed, small enough that paused streams hold little. */
#define STREAM_WINDOW (1024 * 1024)
#define CONN_WINDOW (16 * 1024 * 1024)

struct h2 {
    nghttp2_session *session;
    struct oca_http_stream *streams;
    size_t n_streams;
    bool got_request;               /* a request's headers completed */
    bool dead;                      /* terminated: only the GOAWAY is still to be written */
    uint64_t idle_since;
};

static struct h2 *H(struct oca_conn *c) { return c->ps; }

static struct oca_http_stream *stream_of(struct h2 *h, int32_t id)
{
    return h->session ? nghttp2_session_get_stream_user_data(h->session, id) : NULL;
}

static void consume(struct h2 *h, int32_t id, size_t len)
{
    if (len && nghttp2_session_consume(h->session, id, len) != 0)
        nghttp2_session_consume_connection(h->session, len);
}

static void terminate(struct oca_conn *c, uint32_t code, const char *why)
{
    struct h2 *h = H(c);
    if (h->dead)
        return;
    h->dead = true;
    oca_log_debug(c->srv->who, "HTTP/2 connection %s ends: %s", c->peer, why);
    nghttp2_session_terminate_session(h->session, code);
    oca_conn_queue(c);
}

/* Callbacks. */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    struct oca_conn *c = ud;
    struct h2 *h = H(c);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct oca_http_stream *s = oca_stream_new(c);
    s->id = frame->hd.stream_id;
    s->in_header_phase = true;
    s->next = h->streams;
    if (h->streams)
        h->streams->prev = s;
    h->streams = s;
    h->n_streams++;
    nghttp2_session_set_stream_user_data(session, s->id, s);
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ud;
    struct oca_http_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s || s->headers_done || s->too_big)
        return 0;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    const char *n = (const char *)name, *v = (const char *)value;
    if (namelen > 0 && n[0] == ':') {
        s->header_bytes += namelen + valuelen + 32;
        if (s->header_bytes > s->conn->srv->cfg->max_header_bytes) {
            s->too_big = true;
        } else if (namelen == 7 && memcmp(n, ":method", 7) == 0) {
            s->method = oca_arena_strndup(s->arena, v, valuelen);
        } else if (namelen == 5 && memcmp(n, ":path", 5) == 0) {
            oca_stream_set_target(s, v, valuelen);
        } else if (namelen == 10 && memcmp(n, ":authority", 10) == 0) {
            s->header_bytes -= namelen + valuelen + 32;
            oca_stream_add_header(s, "host", 4, v, valuelen);
        }
        return 0;
    }
    oca_stream_add_header(s, n, namelen, v, valuelen);
    return 0;
}

static void dispatch_headers(struct oca_conn *c, struct oca_http_stream *s)
{
    struct h2 *h = H(c);
    s->in_header_phase = false;
    h->got_request = true;
    const char *cl = oca_http_stream_header(s, "content-length");
    if (cl)
        s->content_length = strtoull(cl, NULL, 10);
    if (s->too_big) {
        c->srv->stats.protocol_errors++;
        s->headers_done = true;
        oca_stream_respond_text(s, 431, "request headers too large");
        return;
    }
    /* The handler sees the headers first: one that streams the body bounds it itself and can
     * answer an oversize request in its own format (OTLP wants a Status body on a 413). */
    oca_stream_call_headers(s);
    if (!s->streaming && !s->resp_started && s->content_length != UINT64_MAX &&
        s->content_length > c->srv->cfg->max_request_body_size) {
        oca_stream_respond_text(s, 413, "request body too large");
        s->discard = true;
    }
}

static void deliver_end(struct oca_http_stream *s)
{
    if (s->end_delivered || s->discard || !s->handler_called)
        return;
    if (s->streaming && (s->paused || s->held.len))
        return;
    oca_stream_call_end(s);
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    struct oca_conn *c = ud;
    struct oca_http_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        dispatch_headers(c, s);
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !s->closed) {
        s->req_ended = true;
        deliver_end(s);
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                         void *ud)
{
    (void)session;
    (void)flags;
    struct oca_conn *c = ud;
    struct h2 *h = H(c);
    struct oca_http_stream *s = stream_of(h, id);
    if (!s) {
        nghttp2_session_consume_connection(h->session, len);
        return 0;
    }
    s->body_bytes += len;
    if (s->discard || s->reset_requested || !s->handler_called || s->closed) {
        consume(h, id, len);
        return 0;
    }
    if (s->streaming) {
        if (s->paused || s->held.len) {
            oca_buf_append(&s->held, data, len);
            return 0;
        }
        oca_stream_call_body(s, data, len);
        consume(h, id, len);
        return 0;
    }
    if (s->body_bytes > c->srv->cfg->max_request_body_size) {
        consume(h, id, len);
        if (!s->resp_started)
            oca_stream_respond_text(s, 413, "request body too large");
        s->discard = true;
        return 0;
    }
    oca_buf_append(&s->body, data, len);
    consume(h, id, len);
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t code, void *ud)
{
    (void)code;
    struct oca_conn *c = ud;
    struct h2 *h = H(c);
    struct oca_http_stream *s = nghttp2_session_get_stream_user_data(session, id);
    if (!s)
        return 0;
    nghttp2_session_set_stream_user_data(session, id, NULL);
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (--h->n_streams == 0)
        h->idle_since = oca_conn_now(c);
    oca_stream_call_close(s);
    oca_stream_free(s);
    return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    struct oca_conn *c = ud;
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR)
        c->srv->stats.protocol_errors++;
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        struct oca_http_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
        /* Answered before the request ended: stop the rest of the upload. */
        if (s && !s->req_ended)
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
    }
    return 0;
}

static int on_invalid_frame(nghttp2_session *session, const nghttp2_frame *frame, int err, void *ud)
{
    (void)session;
    struct oca_conn *c = ud;
    oca_log_debug(c->srv->who, "HTTP/2 from %s: invalid frame type %u on stream %d: %s", c->peer,
                  (unsigned)frame->hd.type, frame->hd.stream_id, nghttp2_strerror(err));
    return 0;
}

static int on_error(nghttp2_session *session, int code, const char *msg, size_t len, void *ud)
{
    (void)session;
    (void)code;
    struct oca_conn *c = ud;
    oca_log_debug(c->srv->who, "HTTP/2 from %s: %.*s", c->peer, (int)len, msg);
    return 0;
}

/* Protocol. */

static nghttp2_session_callbacks *callbacks(void)
{
    static nghttp2_session_callbacks *cbs;
    if (!cbs) {
        nghttp2_session_callbacks_new(&cbs);
        nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
        nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
        nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
        nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, on_invalid_frame);
        nghttp2_session_callbacks_set_error_callback2(cbs, on_error);
    }
    return cbs;
}

static void h2_init(struct oca_conn *c)
{
    struct h2 *h = oca_xcalloc(1, sizeof(*h));
    c->ps = h;
    const struct oca_http_server_config *cfg = c->srv->cfg;
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_send_header_block_length(opt, 1024 * 1024);
    if (nghttp2_session_server_new2(&h->session, callbacks(), c, opt) != 0) {
        fprintf(stderr, "ocagent: out of memory (nghttp2)\n");
        abort();
    }
    nghttp2_option_del(opt);
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->max_concurrent_streams },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
        { NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
          cfg->max_header_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)cfg->max_header_bytes },
    };
    nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
    nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW);
    h->idle_since = oca_conn_now(c);
    oca_conn_queue(c);
}

static void h2_recv(struct oca_conn *c, const uint8_t *data, size_t len)
{
    struct h2 *h = H(c);
    if (!h->session || h->dead)
        return;
    ssize_t n = nghttp2_session_mem_recv(h->session, data, len);
    if (n < 0) {
        c->srv->stats.protocol_errors++;
        terminate(c, NGHTTP2_PROTOCOL_ERROR, nghttp2_strerror((int)n));
    }
}

static void deliver_held(struct oca_conn *c)
{
    struct h2 *h = H(c);
    for (struct oca_http_stream *s = h->streams, *next; s; s = next) {
        next = s->next;
        if (s->closed || s->paused)
            continue;
        if (s->held.len) {
            struct oca_buf b = s->held;
            s->held = (struct oca_buf){ 0 };
            oca_stream_call_body(s, (const uint8_t *)b.data, b.len);
            consume(h, s->id, b.len);
            oca_buf_free(&b);
        }
        if (s->req_ended && !s->paused)
            deliver_end(s);
    }
}

static void h2_service(struct oca_conn *c)
{
    struct h2 *h = H(c);
    if (!h->session)
        return;
    if (!h->dead)
        deliver_held(c);
    while (oca_conn_pending_out(c) < OCA_CONN_OUT_HIGH) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(h->session, &data);
        if (n < 0) {
            oca_conn_close_after_flush(c, false);
            return;
        }
        if (n == 0)
            break;
        oca_conn_write(c, data, (size_t)n);
    }
    if (!nghttp2_session_want_read(h->session) && !nghttp2_session_want_write(h->session))
        oca_conn_close_after_flush(c, false);
}

static void h2_eof(struct oca_conn *c)
{
    oca_conn_close_after_flush(c, false);
}

static uint64_t h2_deadline(struct oca_conn *c, const char **what, bool *idle)
{
    struct h2 *h = H(c);
    const struct oca_http_server_config *cfg = c->srv->cfg;
    *idle = false;
    if (h->dead)
        return 0;
    if (h->n_streams == 0) {
        if (!h->got_request) {
            *what = "read_header_timeout: no request";
            return c->started_ms + (uint64_t)(cfg->read_header_timeout_ns / OCA_NS_PER_MS);
        }
        *what = "idle_timeout";
        *idle = true;
        return h->idle_since + (uint64_t)(cfg->idle_timeout_ns / OCA_NS_PER_MS);
    }
    uint64_t due = 0;
    for (const struct oca_http_stream *s = h->streams; s; s = s->next) {
        uint64_t t = 0;
        if (s->in_header_phase) {
            t = s->begin_ms + (uint64_t)(cfg->read_header_timeout_ns / OCA_NS_PER_MS);
            *what = "read_header_timeout: headers incomplete";
        } else if (s->handler_called && !s->streaming && !s->req_ended && !s->discard) {
            t = c->last_read_ms + (uint64_t)(cfg->read_timeout_ns / OCA_NS_PER_MS);
            *what = "read_timeout: body incomplete";
        }
        if (t && (!due || t < due))
            due = t;
    }
    return due;
}

static void h2_timeout(struct oca_conn *c, bool idle)
{
    terminate(c, NGHTTP2_NO_ERROR, idle ? "idle_timeout" : "read timeout");
    h2_service(c);
}

static void h2_goaway(struct oca_conn *c)
{
    struct h2 *h = H(c);
    if (!h->session)
        return;
    terminate(c, NGHTTP2_NO_ERROR, "server closing");
    while (oca_conn_pending_out(c) < OCA_CONN_OUT_HIGH) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(h->session, &data);
        if (n <= 0)
            break;
        oca_conn_write(c, data, (size_t)n);
    }
}

static void h2_destroy(struct oca_conn *c)
{
    struct h2 *h = H(c);
    if (!h)
        return;
    while (h->streams) {
        struct oca_http_stream *s = h->streams;
        h->streams = s->next;
        if (h->session)
            nghttp2_session_set_stream_user_data(h->session, s->id, NULL);
        oca_stream_call_close(s);
        oca_stream_free(s);
    }
    nghttp2_session_del(h->session);
    free(h);
    c->ps = NULL;
}

/* Responses. */

static ssize_t read_rsp(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                        nghttp2_data_source *src, void *ud)
{
    (void)ud;
    struct oca_http_stream *s = src->ptr;
    size_t avail = s->rsp.len - s->rsp_off;
    size_t n = avail < length ? avail : length;
    if (n) {
        memcpy(buf, s->rsp.data + s->rsp_off, n);
        s->rsp_off += n;
        if (s->rsp_off == s->rsp.len) {
            oca_buf_reset(&s->rsp);
            s->rsp_off = 0;
        }
    }
    if (s->rsp.len == 0 && s->resp_ended) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (s->n_trailers) {
            nghttp2_nv *nv = oca_arena_alloc(s->arena, s->n_trailers * sizeof(*nv));
            for (size_t i = 0; i < s->n_trailers; i++)
                nv[i] = (nghttp2_nv){ (uint8_t *)(uintptr_t)s->trailers[i].name,
                                      (uint8_t *)(uintptr_t)s->trailers[i].value, s->trailers[i].name_len,
                                      s->trailers[i].value_len, NGHTTP2_NV_FLAG_NONE };
            if (nghttp2_submit_trailer(session, id, nv, s->n_trailers) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
        return (ssize_t)n;
    }
    if (n == 0) {
        s->rsp_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

static bool skip_header(const struct oca_http_header *x)
{
    static const char *const names[] = { "connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                         "upgrade", NULL };
    for (int i = 0; names[i]; i++)
        if (x->name_len == strlen(names[i]) && strncasecmp(x->name, names[i], x->name_len) == 0)
            return true;
    return false;
}

/* Copies headers lower-cased into the stream's arena as nghttp2 name/value pairs. */
static nghttp2_nv *build_nv(struct oca_http_stream *s, int status, const struct oca_http_header *hd, size_t n,
                            const char *content_length, size_t *out_n)
{
    nghttp2_nv *nv = oca_arena_alloc(s->arena, (n + 2) * sizeof(*nv));
    size_t k = 0;
    char *st = oca_arena_printf(s->arena, "%d", status);
    nv[k++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)st, 7, strlen(st), NGHTTP2_NV_FLAG_NONE };
    for (size_t i = 0; i < n; i++) {
        if (skip_header(&hd[i]))
            continue;
        if (content_length && hd[i].name_len == 14 && strncasecmp(hd[i].name, "content-length", 14) == 0)
            continue;
        char *name = oca_arena_strndup(s->arena, hd[i].name, hd[i].name_len);
        for (size_t j = 0; j < hd[i].name_len; j++)
            if (name[j] >= 'A' && name[j] <= 'Z')
                name[j] = (char)(name[j] - 'A' + 'a');
        nv[k++] = (nghttp2_nv){ (uint8_t *)name, (uint8_t *)(uintptr_t)hd[i].value, hd[i].name_len,
                                hd[i].value_len, NGHTTP2_NV_FLAG_NONE };
    }
    if (content_length)
        nv[k++] = (nghttp2_nv){ (uint8_t *)"content-length", (uint8_t *)(uintptr_t)content_length, 14,
                                strlen(content_length), NGHTTP2_NV_FLAG_NONE };
    *out_n = k;
    return nv;
}

static int submit(struct oca_http_stream *s, int status, const struct oca_http_header *hd, size_t n,
                  const char *content_length, bool with_body)
{
    struct oca_conn *c = s->conn;
    struct h2 *h = H(c);
    if (!h || !h->session || s->closed)
        return OCA_ERR_INVALID;
    size_t k;
    nghttp2_nv *nv = build_nv(s, status, hd, n, content_length, &k);
    nghttp2_data_provider prd = { .source.ptr = s, .read_callback = read_rsp };
    int rv = nghttp2_submit_response(h->session, s->id, nv, k, with_body ? &prd : NULL);
    if (rv != 0)
        return OCA_ERR_INVALID;
    s->resp_started = true;
    s->status = status;
    if (s->resp_ended && !s->req_ended && s->headers_done)
        s->discard = true;
    oca_conn_queue(c);
    return OCA_OK;
}

static int h2_respond(struct oca_http_stream *s, int status, const struct oca_http_header *hd, size_t n,
                      const void *body, size_t len)
{
    bool head = strcmp(s->method, "HEAD") == 0;
    if (len == 0 || head || status == 204 || status == 304) {
        s->resp_ended = true;
        return submit(s, status, hd, n, NULL, false);
    }
    char *cl = oca_arena_printf(s->arena, "%zu", len);
    oca_buf_append(&s->rsp, body, len);
    s->resp_ended = true;
    int rv = submit(s, status, hd, n, cl, true);
    if (rv != OCA_OK)
        s->resp_ended = false;
    return rv;
}

static int h2_send_headers(struct oca_http_stream *s, int status, const struct oca_http_header *hd, size_t n)
{
    return submit(s, status, hd, n, NULL, true);
}

static void wake_data(struct oca_http_stream *s)
{
    struct h2 *h = H(s->conn);
    if (s->rsp_deferred && h && h->session) {
        s->rsp_deferred = false;
        nghttp2_session_resume_data(h->session, s->id);
    }
    oca_conn_queue(s->conn);
}

static int h2_send_data(struct oca_http_stream *s, const void *data, size_t len)
{
    oca_buf_append(&s->rsp, data, len);
    wake_data(s);
    return OCA_OK;
}

static int h2_send_end(struct oca_http_stream *s, const struct oca_http_header *t, size_t n)
{
    if (n) {
        s->trailers = oca_arena_alloc(s->arena, n * sizeof(*s->trailers));
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            char *name = oca_arena_strndup(s->arena, t[i].name, t[i].name_len);
            for (size_t j = 0; j < t[i].name_len; j++)
                if (name[j] >= 'A' && name[j] <= 'Z')
                    name[j] = (char)(name[j] - 'A' + 'a');
            s->trailers[k++] = (struct oca_http_header){ name, t[i].name_len,
                                                         oca_arena_strndup(s->arena, t[i].value, t[i].value_len),
                                                         t[i].value_len };
        }
        s->n_trailers = k;
    }
    s->resp_ended = true;
    if (!s->req_ended && s->headers_done)
        s->discard = true;
    wake_data(s);
    return OCA_OK;
}

static void h2_reset(struct oca_http_stream *s)
{
    struct h2 *h = H(s->conn);
    if (h && h->session)
        nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
    oca_conn_queue(s->conn);
}

static void h2_pause(struct oca_http_stream *s)
{
    (void)s;
}

static void h2_resume(struct oca_http_stream *s)
{
    oca_conn_queue(s->conn);
}

const struct oca_proto oca_http2_proto = {
    .version = 2,
    .init = h2_init,
    .recv = h2_recv,
    .service = h2_service,
    .eof = h2_eof,
    .deadline = h2_deadline,
    .timeout = h2_timeout,
    .goaway = h2_goaway,
    .destroy = h2_destroy,
    .respond = h2_respond,
    .send_headers = h2_send_headers,
    .send_data = h2_send_data,
    .send_end = h2_send_end,
    .reset = h2_reset,
    .pause = h2_pause,
    .resume = h2_resume,
};
