/* HTTP/1.1 on a connection, parsed by http-parser (Debian's libhttp-parser): keep-alive,
 * Content-Length and chunked bodies, Expect: 100-continue, pipelined requests answered one at a
 * time in order (the parser pauses at each request's end until its answer is out), and the limits:
 * max_header_bytes (431), max_request_body_size (413), malformed input (400), each followed by a
 * close. Bytes come in through the connection's recv, so the parser can be driven from memory. */
#include <http_parser.h>
#include <inttypes.h>
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

struct h1 {
    http_parser parser;
    struct oca_http_stream *s;      /* the request being read or answered */
    struct oca_buf pending;         /* input not yet parsed (held while the parser waits) */
    size_t pending_off;
    struct oca_buf hname, hvalue;   /* the header being read (callbacks may split it) */
    bool in_value;
    struct oca_buf target;
    uint64_t head_bytes;            /* request line and headers so far */
    int err_status;                 /* set by a callback that stopped the parser */
    const char *err_text;
    bool keep_alive;                /* of the current request */
    bool http10;
    bool head;
    bool expect_continue;
    bool chunked_rsp;               /* the answer is being sent in chunks */
    bool close_delimited;           /* the answer ends when the connection does (HTTP/1.0 pieces) */
    bool close_after;               /* close once the current answer is out */
    bool linger_close;              /* ... draining the rest of the request first */
    bool dead;                      /* nothing more is parsed or answered */
    bool peer_eof;
    bool served_one;
    bool in_execute;
    uint64_t idle_since;
    uint64_t discarded;
};

static struct h1 *H(struct oca_conn *c) { return c->ps; }

static void write_buf(struct oca_conn *c, const struct oca_buf *b)
{
    oca_conn_write(c, b->data, b->len);
}

/* An answer from the server itself, written whether or not a stream exists, and the end of the
 * connection: used for malformed input and limits. */
static void fail_request(struct oca_conn *c, int status, const char *text, bool linger)
{
    struct h1 *h = H(c);
    if (h->dead)
        return;
    h->dead = true;
    c->srv->stats.protocol_errors++;
    struct oca_http_stream *s = h->s;
    if (!s || !s->resp_started) {
        char body[160];
        int n = snprintf(body, sizeof(body), "%s\n", text ? text : oca_http_reason(status));
        struct oca_buf b = { 0 };
        oca_buf_printf(&b, "HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
                           "content-length: %d\r\nconnection: close\r\n\r\n%s",
                       status, oca_http_reason(status), n, body);
        write_buf(c, &b);
        oca_buf_free(&b);
        if (s)
            s->resp_started = s->resp_ended = true;
    }
    oca_log_debug(c->srv->who, "HTTP/1.1 from %s: %d %s", c->peer, status, text ? text : "");
    oca_conn_read_pause(c, OCA_PAUSE_PROTO);
    oca_conn_close_after_flush(c, linger);
}

/* Parser callbacks. */

static bool over_header_limit(struct oca_conn *c, size_t more)
{
    struct h1 *h = H(c);
    h->head_bytes += more;
    if (h->head_bytes > c->srv->cfg->max_header_bytes) {
        h->err_status = 431;
        h->err_text = "request headers too large";
        return true;
    }
    return false;
}

static void push_header(struct oca_conn *c)
{
    struct h1 *h = H(c);
    if (h->hname.len && h->s && !h->s->headers_done)
        oca_stream_add_header(h->s, h->hname.data, h->hname.len, h->hvalue.data ? h->hvalue.data : "",
                              h->hvalue.len);
    oca_buf_reset(&h->hname);
    oca_buf_reset(&h->hvalue);
    h->in_value = false;
}

static int on_message_begin(http_parser *p)
{
    struct oca_conn *c = p->data;
    struct h1 *h = H(c);
    h->s = oca_stream_new(c);
    h->head_bytes = 0;
    h->discarded = 0;
    h->in_value = false;
    h->chunked_rsp = h->close_delimited = h->close_after = h->linger_close = false;
    oca_buf_reset(&h->target);
    oca_buf_reset(&h->hname);
    oca_buf_reset(&h->hvalue);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct oca_conn *c = p->data;
    if (over_header_limit(c, len))
        return -1;
    oca_buf_append(&H(c)->target, at, len);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct oca_conn *c = p->data;
    struct h1 *h = H(c);
    if (over_header_limit(c, len))
        return -1;
    if (h->in_value)
        push_header(c);
    oca_buf_append(&h->hname, at, len);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct oca_conn *c = p->data;
    struct h1 *h = H(c);
    if (over_header_limit(c, len))
        return -1;
    h->in_value = true;
    oca_buf_append(&h->hvalue, at, len);
    return 0;
}

static bool body_expected(const struct h1 *h)
{
    const struct oca_http_stream *s = h->s;
    return (h->parser.flags & F_CHUNKED) || (s->content_length != UINT64_MAX && s->content_length > 0);
}

static int on_headers_complete(http_parser *p)
{
    struct oca_conn *c = p->data;
    struct h1 *h = H(c);
    struct oca_http_stream *s = h->s;
    push_header(c);
    s->method = oca_arena_strdup(s->arena, http_method_str((enum http_method)p->method));
    oca_stream_set_target(s, h->target.data ? h->target.data : "", h->target.len);
    if (p->flags & F_CONTENTLENGTH)
        s->content_length = p->content_length;
    h->keep_alive = http_should_keep_alive(p) != 0;
    h->http10 = p->http_major < 1 || (p->http_major == 1 && p->http_minor == 0);
    h->head = p->method == HTTP_HEAD;
    const char *expect = oca_http_stream_header(s, "expect");
    h->expect_continue = expect && strcasecmp(expect, "100-continue") == 0 && !h->http10;
    if (p->method == HTTP_CONNECT) {
        h->err_status = 405;
        h->err_text = "CONNECT is not supported";
        return -1;
    }
    /* The handler sees the headers first: one that streams the body bounds it itself and can
     * answer an oversize request in its own format (OTLP wants a Status body on a 413). */
    oca_stream_call_headers(s);
    if (h->dead || s->reset_requested)
        return 0;
    if (!s->streaming && !s->resp_started && s->content_length != UINT64_MAX &&
        s->content_length > c->srv->cfg->max_request_body_size) {
        h->err_status = 413;
        h->err_text = "request body too large";
        return -1;
    }
    if (!s->resp_started && h->expect_continue && body_expected(h)) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        oca_conn_write(c, cont, sizeof(cont) - 1);
    }
    if (s->paused)
        http_parser_pause(p, 1);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct oca_conn *c = p->data;
    struct h1 *h = H(c);
    struct oca_http_stream *s = h->s;
    s->body_bytes += len;
    if (s->discard || s->reset_requested) {
        h->discarded += len;
        if (h->discarded > OCA_HTTP1_DISCARD_MAX) {
            h->err_status = 413;
            return -1;
        }
        return 0;
    }
    if (!s->streaming && s->body_bytes > c->srv->cfg->max_request_body_size) {
        h->err_status = 413;
        h->err_text = "request body too large";
        return -1;
    }
    if (s->streaming) {
        oca_stream_call_body(s, (const uint8_t *)at, len);
        if (s->paused && !h->dead)
            http_parser_pause(p, 1);
    } else {
        if (s->body.len == 0 && s->content_length != UINT64_MAX)
            oca_buf_reserve(&s->body, (size_t)s->content_length);
        oca_buf_append(&s->body, at, len);
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct oca_conn *c = p->data;
    struct h1 *h = H(c);
    struct oca_http_stream *s = h->s;
    s->req_ended = true;
    if (!s->discard && !s->reset_requested)
        oca_stream_call_end(s);
    /* One request at a time: the next waits until this one is answered. */
    http_parser_pause(p, 1);
    oca_conn_queue(c);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Parsing. */

static bool may_parse(const struct h1 *h)
{
    if (h->dead)
        return false;
    if (h->s && (h->s->req_ended || (h->s->paused && !h->s->discard)))
        return false;
    return true;
}

/* Runs the parser over data; what it does not take is kept in pending. Returns the bytes taken. */
static size_t run_parser(struct oca_conn *c, const uint8_t *data, size_t len)
{
    struct h1 *h = H(c);
    size_t done = 0;
    while (done < len && may_parse(h)) {
        http_parser_pause(&h->parser, 0);
        h->in_execute = true;
        size_t n = http_parser_execute(&h->parser, &settings, (const char *)data + done, len - done);
        h->in_execute = false;
        done += n;
        enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);
        if (e == HPE_PAUSED)
            continue;
        if (e != HPE_OK) {
            int status = h->err_status ? h->err_status : e == HPE_HEADER_OVERFLOW ? 431 : 400;
            const char *text = h->err_text ? h->err_text : http_errno_description(e);
            /* Unanswered body bytes may still be on the way: drain them before closing. */
            fail_request(c, status, text, true);
            return len;
        }
        if (h->parser.upgrade) {
            /* Upgrade (h2c and others) is not offered: the request is served as HTTP/1.1. */
            h->parser.upgrade = 0;
            continue;
        }
        if (n == 0)
            break;
    }
    return done;
}

static void keep_pending(struct oca_conn *c, const uint8_t *data, size_t len)
{
    struct h1 *h = H(c);
    if (len == 0)
        return;
    oca_buf_append(&h->pending, data, len);
    oca_conn_read_pause(c, OCA_PAUSE_PROTO);
}

static void parse_pending(struct oca_conn *c)
{
    struct h1 *h = H(c);
    while (h->pending_off < h->pending.len && may_parse(h)) {
        size_t n = run_parser(c, (const uint8_t *)h->pending.data + h->pending_off, h->pending.len - h->pending_off);
        if (n == 0)
            break;
        h->pending_off += n;
    }
    if (h->pending_off >= h->pending.len) {
        oca_buf_reset(&h->pending);
        h->pending_off = 0;
        if (!h->dead && may_parse(h))
            oca_conn_read_resume(c, OCA_PAUSE_PROTO);
    }
}

static void h1_init(struct oca_conn *c)
{
    struct h1 *h = oca_xcalloc(1, sizeof(*h));
    c->ps = h;
    /* Our own limit (max_header_bytes) is enforced in the callbacks; the library's compiled-in one
     * (80 KiB) must not be lower. The setting is process-wide and only ever raised. */
    static uint32_t lib_max;
    uint64_t want = c->srv->cfg->max_header_bytes + 1024;
    if (want > lib_max) {
        lib_max = want > UINT32_MAX ? UINT32_MAX : (uint32_t)want;
        http_parser_set_max_header_size(lib_max);
    }
    http_parser_init(&h->parser, HTTP_REQUEST);
    h->parser.data = c;
    h->idle_since = oca_conn_now(c);
}

static void h1_recv(struct oca_conn *c, const uint8_t *data, size_t len)
{
    struct h1 *h = H(c);
    if (h->dead)
        return;
    if (h->pending.len > h->pending_off || !may_parse(h)) {
        keep_pending(c, data, len);
        return;
    }
    size_t n = run_parser(c, data, len);
    if (!h->dead && n < len)
        keep_pending(c, data + n, len - n);
}

/* The current request is answered and read: on_close, then on to the next one. */
static void finish_stream(struct oca_conn *c)
{
    struct h1 *h = H(c);
    struct oca_http_stream *s = h->s;
    h->s = NULL;
    oca_stream_call_close(s);
    oca_stream_free(s);
    h->served_one = true;
    h->idle_since = oca_conn_now(c);
}

static void h1_service(struct oca_conn *c)
{
    struct h1 *h = H(c);
    for (int round = 0; round < 64; round++) {
        if (h->dead)
            return;
        struct oca_http_stream *s = h->s;
        if (s && s->reset_requested) {
            h->dead = true;
            oca_conn_close_after_flush(c, false);
            return;
        }
        if (s && s->resp_ended && s->req_ended) {
            bool close = h->close_after || c->srv->closing;
            finish_stream(c);
            if (close) {
                h->dead = true;
                oca_conn_close_after_flush(c, false);
                return;
            }
        } else if (s && s->resp_ended && h->linger_close) {
            /* Answered early with more body to come than is worth reading. */
            h->dead = true;
            oca_conn_close_after_flush(c, true);
            return;
        }
        size_t before = h->pending_off, before_len = h->pending.len;
        struct oca_http_stream *before_s = h->s;
        if (h->pending.len > h->pending_off)
            parse_pending(c);
        else if (may_parse(h))
            oca_conn_read_resume(c, OCA_PAUSE_PROTO);
        if (!h->s && h->pending.len == 0 && h->peer_eof && !h->dead) {
            h->dead = true;
            oca_conn_close_after_flush(c, false);
            return;
        }
        bool progress = h->pending_off != before || h->pending.len != before_len || h->s != before_s ||
                        (h->s && h->s->resp_ended && h->s->req_ended);
        if (!progress)
            return;
    }
    oca_conn_queue(c);
}

static void h1_eof(struct oca_conn *c)
{
    struct h1 *h = H(c);
    h->peer_eof = true;
    struct oca_http_stream *s = h->s;
    /* A complete request still owed its answer is answered; anything else ends here. */
    if (s && s->req_ended && !s->resp_ended && !h->dead) {
        h->close_after = true;
        return;
    }
    if (h->pending.len > h->pending_off && !h->dead) {
        oca_conn_queue(c);
        return;
    }
    h->dead = true;
    oca_conn_close_after_flush(c, false);
}

static uint64_t h1_deadline(struct oca_conn *c, const char **what, bool *idle)
{
    struct h1 *h = H(c);
    const struct oca_http_server_config *cfg = c->srv->cfg;
    uint64_t hdr = (uint64_t)(cfg->read_header_timeout_ns / OCA_NS_PER_MS);
    *idle = false;
    if (h->dead)
        return 0;
    struct oca_http_stream *s = h->s;
    if (!s) {
        if (h->pending.len > h->pending_off)
            return 0;
        if (!h->served_one) {
            *what = "read_header_timeout: no request";
            return c->started_ms + hdr;
        }
        *what = "idle_timeout";
        *idle = true;
        return h->idle_since + (uint64_t)(cfg->idle_timeout_ns / OCA_NS_PER_MS);
    }
    if (!s->headers_done) {
        *what = "read_header_timeout: headers incomplete";
        uint64_t start = h->served_one ? s->begin_ms : c->started_ms;
        return start + hdr;
    }
    if (!s->req_ended && (!s->paused || s->discard)) {
        *what = "read_timeout: body incomplete";
        return c->last_read_ms + (uint64_t)(cfg->read_timeout_ns / OCA_NS_PER_MS);
    }
    return 0;
}

static void h1_timeout(struct oca_conn *c, bool idle)
{
    struct h1 *h = H(c);
    if (idle || !h->s) {
        h->dead = true;
        oca_conn_close_after_flush(c, false);
        return;
    }
    fail_request(c, 408, "timed out reading the request", false);
}

static void h1_goaway(struct oca_conn *c)
{
    (void)c;
}

static void h1_destroy(struct oca_conn *c)
{
    struct h1 *h = H(c);
    if (!h)
        return;
    if (h->s) {
        oca_stream_call_close(h->s);
        oca_stream_free(h->s);
    }
    oca_buf_free(&h->pending);
    oca_buf_free(&h->hname);
    oca_buf_free(&h->hvalue);
    oca_buf_free(&h->target);
    free(h);
    c->ps = NULL;
}

/* Responses. */

static bool is_hop_header(const struct oca_http_header *x)
{
    static const char *const names[] = { "content-length", "transfer-encoding", "connection", "keep-alive", NULL };
    for (int i = 0; names[i]; i++)
        if (x->name_len == strlen(names[i]) && strncasecmp(x->name, names[i], x->name_len) == 0)
            return true;
    return false;
}

static bool header_says_close(const struct oca_http_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].name_len == 10 && strncasecmp(h[i].name, "connection", 10) == 0 && h[i].value_len >= 5 &&
            strncasecmp(h[i].value, "close", 5) == 0)
            return true;
    return false;
}

/* Whether the connection survives this answer, decided when its head is written. */
static void decide_close(struct oca_conn *c, struct oca_http_stream *s, const struct oca_http_header *hd, size_t n)
{
    struct h1 *h = H(c);
    if (!h->keep_alive || c->srv->closing || h->peer_eof || header_says_close(hd, n))
        h->close_after = true;
    if (!s->req_ended && s->headers_done) {
        /* Answered before the body was read: keep the connection only when the rest of the body
         * is known to be small enough to read and drop (and the client was told to send it). */
        bool chunked = (h->parser.flags & F_CHUNKED) != 0;
        uint64_t left = chunked ? UINT64_MAX
                        : s->content_length == UINT64_MAX ? 0 : s->content_length - s->body_bytes;
        bool small = left <= OCA_HTTP1_DISCARD_MAX;
        if (!small || (h->expect_continue && left > 0)) {
            h->close_after = true;
            h->linger_close = true;
        }
    }
}

static void write_head(struct oca_conn *c, struct oca_buf *b, int status, const struct oca_http_header *hd, size_t n)
{
    struct h1 *h = H(c);
    oca_buf_printf(b, "HTTP/1.1 %d %s\r\n", status, oca_http_reason(status));
    for (size_t i = 0; i < n; i++) {
        if (is_hop_header(&hd[i]))
            continue;
        oca_buf_append(b, hd[i].name, hd[i].name_len);
        oca_buf_append(b, ": ", 2);
        oca_buf_append(b, hd[i].value, hd[i].value_len);
        oca_buf_append(b, "\r\n", 2);
    }
    if (h->close_after)
        oca_buf_puts(b, "connection: close\r\n");
    else if (h->http10)
        oca_buf_puts(b, "connection: keep-alive\r\n");
}

static bool no_body_status(int status)
{
    return status == 204 || status == 304 || (status >= 100 && status < 200);
}

static int h1_respond(struct oca_http_stream *s, int status, const struct oca_http_header *hd, size_t n,
                      const void *body, size_t len)
{
    struct oca_conn *c = s->conn;
    struct h1 *h = H(c);
    if (h->dead || h->s != s)
        return OCA_ERR_INVALID;
    s->resp_started = s->resp_ended = true;
    s->status = status;
    decide_close(c, s, hd, n);
    struct oca_buf b = { 0 };
    write_head(c, &b, status, hd, n);
    if (!no_body_status(status))
        oca_buf_printf(&b, "content-length: %zu\r\n", len);
    oca_buf_append(&b, "\r\n", 2);
    if (!h->head && !no_body_status(status))
        oca_buf_append(&b, body, len);
    write_buf(c, &b);
    oca_buf_free(&b);
    if (!s->req_ended)
        s->discard = s->headers_done;
    oca_conn_queue(c);
    return OCA_OK;
}

static int h1_send_headers(struct oca_http_stream *s, int status, const struct oca_http_header *hd, size_t n)
{
    struct oca_conn *c = s->conn;
    struct h1 *h = H(c);
    if (h->dead || h->s != s)
        return OCA_ERR_INVALID;
    s->resp_started = true;
    s->status = status;
    if (h->http10)
        h->close_after = true;
    decide_close(c, s, hd, n);
    struct oca_buf b = { 0 };
    write_head(c, &b, status, hd, n);
    const char *given_len = NULL;
    for (size_t i = 0; i < n; i++)
        if (hd[i].name_len == 14 && strncasecmp(hd[i].name, "content-length", 14) == 0)
            given_len = hd[i].value;
    if (given_len) {
        oca_buf_printf(&b, "content-length: %.*s\r\n", 20, given_len);
    } else if (h->http10) {
        h->close_delimited = true;
    } else if (!no_body_status(status)) {
        h->chunked_rsp = true;
        oca_buf_puts(&b, "transfer-encoding: chunked\r\n");
    }
    oca_buf_append(&b, "\r\n", 2);
    write_buf(c, &b);
    oca_buf_free(&b);
    oca_conn_queue(c);
    return OCA_OK;
}

static int h1_send_data(struct oca_http_stream *s, const void *data, size_t len)
{
    struct oca_conn *c = s->conn;
    struct h1 *h = H(c);
    if (h->dead || h->s != s)
        return OCA_ERR_INVALID;
    if (h->head || no_body_status(s->status))
        return OCA_OK;
    if (h->chunked_rsp) {
        char line[24];
        int k = snprintf(line, sizeof(line), "%zx\r\n", len);
        oca_conn_write(c, line, (size_t)k);
        oca_conn_write(c, data, len);
        oca_conn_write(c, "\r\n", 2);
    } else {
        oca_conn_write(c, data, len);
    }
    oca_conn_queue(c);
    return OCA_OK;
}

static int h1_send_end(struct oca_http_stream *s, const struct oca_http_header *t, size_t n)
{
    struct oca_conn *c = s->conn;
    struct h1 *h = H(c);
    if (h->dead || h->s != s)
        return OCA_ERR_INVALID;
    s->resp_ended = true;
    if (h->chunked_rsp) {
        struct oca_buf b = { 0 };
        oca_buf_puts(&b, "0\r\n");
        for (size_t i = 0; i < n; i++) {
            oca_buf_append(&b, t[i].name, t[i].name_len);
            oca_buf_append(&b, ": ", 2);
            oca_buf_append(&b, t[i].value, t[i].value_len);
            oca_buf_append(&b, "\r\n", 2);
        }
        oca_buf_append(&b, "\r\n", 2);
        write_buf(c, &b);
        oca_buf_free(&b);
    }
    if (h->close_delimited)
        h->close_after = true;
    if (!s->req_ended)
        s->discard = s->headers_done;
    oca_conn_queue(c);
    return OCA_OK;
}

static void h1_reset(struct oca_http_stream *s)
{
    oca_conn_queue(s->conn);
}

static void h1_pause(struct oca_http_stream *s)
{
    struct h1 *h = H(s->conn);
    if (h->in_execute)
        http_parser_pause(&h->parser, 1);
    oca_conn_read_pause(s->conn, OCA_PAUSE_PROTO);
}

static void h1_resume(struct oca_http_stream *s)
{
    oca_conn_queue(s->conn);
}

const struct oca_proto oca_http1_proto = {
    .version = 1,
    .init = h1_init,
    .recv = h1_recv,
    .service = h1_service,
    .eof = h1_eof,
    .deadline = h1_deadline,
    .timeout = h1_timeout,
    .goaway = h1_goaway,
    .destroy = h1_destroy,
    .respond = h1_respond,
    .send_headers = h1_send_headers,
    .send_data = h1_send_data,
    .send_end = h1_send_end,
    .reset = h1_reset,
    .pause = h1_pause,
    .resume = h1_resume,
};
