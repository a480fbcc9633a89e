/* Shared by the otlp receiver's unit tests: the receiver built from YAML on a real loop, a fake
 * next consumer that keeps or refuses batches, and clients on real loopback sockets driven by the
 * same loop (raw HTTP/1.1, and gRPC over an nghttp2 client session). Everything waits by running
 * the loop until a condition holds or a deadline passes; nothing sleeps. */
#ifndef OCA_TEST_OTLP_HARNESS_H
#define OCA_TEST_OTLP_HARNESS_H

#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <nghttp2/nghttp2.h>
#include <uv.h>
#include <zlib.h>
#include <zstd.h>

#include "base/arena.h"
#include "base/budget.h"
#include "base/buf.h"
#include "base/errors.h"
#include "base/log.h"
#include "config/decode.h"
#include "config/diag.h"
#include "config/yaml_tree.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"
#include "receivers/otlp/otlp.h"

#define H_UNUSED __attribute__((unused))

extern const struct oca_component_type oca_otlp_receiver;

#define H_MAX_GOT 64

struct h_fake {
    struct oca_consumer base;
    struct oca_batch *got[H_MAX_GOT];
    size_t n;
    int refuse_with;            /* nonzero: refuse every batch with this */
};

struct h_rx {
    uv_loop_t loop;
    struct oca_arena *arena;
    struct oca_component comp;
    struct oca_counters counters;
    struct h_fake fake;
    int done_calls;
};

static H_UNUSED int h_fake_consume(struct oca_consumer *c, enum oca_signal sig, struct oca_batch *b)
{
    struct h_fake *f = (struct h_fake *)c;
    assert_int_equal(sig, b->signal);
    if (f->refuse_with)
        return f->refuse_with;
    assert_true(f->n < H_MAX_GOT);
    f->got[f->n++] = oca_batch_ref(b);
    return OCA_OK;
}

/* Decodes yaml as the receiver's config and validates it; returns the validate result and leaves
 * the messages in diag (initialised here, freed by the caller). */
static H_UNUSED int h_config(struct oca_arena *arena, const char *yaml, void **cfg, struct oca_diag *diag)
{
    oca_diag_init(diag);
    *cfg = oca_arena_zalloc(arena, oca_otlp_receiver.config_size);
    const struct oca_ynode *node = oca_yaml_parse(arena, "t.yaml", yaml, strlen(yaml), diag);
    assert_non_null(node);
    if (oca_config_decode(arena, oca_otlp_receiver.fields, *cfg, node, "receivers.otlp", diag) != 0)
        return OCA_ERR_CONFIG;
    diag->ctx = node;
    diag->ctx_path = "receivers.otlp";
    return oca_otlp_receiver.validate(*cfg, diag);
}

/* Set by a test program's main before its second run: every request, however small, is decoded
 * on libuv's thread pool (h_start lowers the receiver's offload threshold to 0). */
static H_UNUSED bool h_offload_all;

/* The receiver with yaml as config, started, every signal wired to the fake consumer (a signal
 * whose bit is in unwired is left without a pipeline). */
static H_UNUSED void h_start(struct h_rx *h, const char *yaml, unsigned unwired)
{
    memset(h, 0, sizeof(*h));
    oca_budget_reset_stats();
    assert_int_equal(uv_loop_init(&h->loop), 0);
    h->arena = oca_arena_new(4096);
    void *cfg;
    struct oca_diag diag;
    if (h_config(h->arena, yaml, &cfg, &diag) != OCA_OK)
        fail_msg("config: %s", diag.text.data ? diag.text.data : "?");
    oca_diag_free(&diag);
    h->fake.base.consume = h_fake_consume;
    h->comp.type = &oca_otlp_receiver;
    h->comp.id = "otlp";
    h->comp.config = cfg;
    h->comp.counters = &h->counters;
    h->comp.loop = &h->loop;
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
        h->comp.next[s] = (unwired & (1u << s)) ? NULL : &h->fake.base;
    assert_int_equal(oca_otlp_receiver.create(&h->comp, NULL), OCA_OK);
    assert_int_equal(oca_otlp_receiver.start(&h->comp, &h->loop), OCA_OK);
    if (h_offload_all) {
        struct oca_otlp_rx *rx = h->comp.state;
        rx->offload_min = 0;
        rx->max_jobs = SIZE_MAX;
    }
}

/* Runs a test program's group twice: decoding as configured (small requests inline), then every
 * request on the thread pool. */
#define H_RUN_BOTH_WAYS(tests) \
    (cmocka_run_group_tests_name("decoding inline", tests, NULL, NULL) | \
     (h_offload_all = true, cmocka_run_group_tests_name("decoding on the thread pool", tests, NULL, NULL)))

static H_UNUSED uint16_t h_port(struct h_rx *h, size_t listener)
{
    struct oca_otlp_rx *rx = h->comp.state;
    assert_true(listener < rx->n_listeners);
    return oca_http_server_port(rx->listeners[listener].server);
}

static H_UNUSED void h_guard_cb(uv_timer_t *t) { (void)t; }

/* Runs the loop until cond(arg) or ms pass; returns cond's last value. */
static H_UNUSED bool h_run_until(uv_loop_t *loop, bool (*cond)(void *), void *arg, uint64_t ms)
{
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    uv_timer_start(&guard, h_guard_cb, ms, 0);
    uint64_t deadline = uv_hrtime() + ms * 1000000;
    bool ok;
    while (!(ok = cond(arg)) && uv_hrtime() < deadline)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

static H_UNUSED void h_release_got(struct h_rx *h)
{
    for (size_t i = 0; i < h->fake.n; i++)
        oca_batch_unref(h->fake.got[i]);
    h->fake.n = 0;
}

static H_UNUSED void h_on_done(struct oca_component *self)
{
    struct h_rx *h = (struct h_rx *)((char *)self - offsetof(struct h_rx, comp));
    h->done_calls++;
}

static H_UNUSED bool h_done(void *arg) { return ((struct h_rx *)arg)->done_calls > 0; }

/* Shuts the receiver down, frees everything, and checks that the loop closes clean and that the
 * memory budget is back to zero. */
static H_UNUSED void h_stop(struct h_rx *h)
{
    struct oca_otlp_rx *rx = h->comp.state;
    /* In the second run, whatever was decoded went through the pool. */
    if (h_offload_all && rx->offloaded == 0 && h->fake.n > 0)
        fail_msg("nothing was decoded on the thread pool");
    oca_otlp_receiver.shutdown(&h->comp, h_on_done);
    assert_true(h_run_until(&h->loop, h_done, h, 10000));
    oca_otlp_receiver.destroy(&h->comp);
    h_release_got(h);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&h->loop), 0);
    oca_arena_destroy(h->arena);
    assert_int_equal(oca_budget_used(), 0);
}

/* ---- A raw HTTP/1.1 client on the same loop. ---- */

struct h_http {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    struct oca_buf in;              /* everything received */
    bool connected, eof, failed, closed;
    /* The parsed response, once complete. */
    bool complete;
    int status;
    size_t head_len;                /* bytes of status line + headers + blank line */
    size_t body_len;
    char *req;                      /* the request bytes being written */
    size_t req_len;
};

static H_UNUSED void h_http_alloc(uv_handle_t *hd, size_t size, uv_buf_t *buf)
{
    (void)hd;
    static char slab[65536];
    (void)size;
    buf->base = slab;
    buf->len = sizeof(slab);
}

static H_UNUSED void h_http_parse(struct h_http *c)
{
    if (c->complete || c->in.len == 0)
        return;
    char *end = strstr(c->in.data, "\r\n\r\n");
    if (!end)
        return;
    c->head_len = (size_t)(end - c->in.data) + 4;
    if (sscanf(c->in.data, "HTTP/1.1 %d", &c->status) != 1)
        c->status = -1;
    /* Interim 100 Continue: drop it and parse again. */
    if (c->status == 100) {
        memmove(c->in.data, c->in.data + c->head_len, c->in.len - c->head_len + 1);
        c->in.len -= c->head_len;
        h_http_parse(c);
        return;
    }
    size_t cl = 0;
    bool have_cl = false;
    for (char *p = c->in.data; p < end; p = strstr(p, "\r\n") + 2) {
        if (strncasecmp(p, "content-length:", 15) == 0) {
            cl = strtoul(p + 15, NULL, 10);
            have_cl = true;
        }
    }
    /* 204 and 304 have no body and no Content-Length; the connection stays open. */
    if (!have_cl && !c->eof && c->status != 204 && c->status != 304)
        return;
    size_t have = c->in.len - c->head_len;
    if (have_cl && have < cl)
        return;
    c->body_len = have_cl ? cl : have;
    c->complete = true;
}

static H_UNUSED void h_http_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct h_http *c = st->data;
    if (n > 0)
        oca_buf_append(&c->in, buf->base, (size_t)n);
    else if (n < 0)
        c->eof = true;
    h_http_parse(c);
}

static H_UNUSED void h_http_written(uv_write_t *w, int status)
{
    struct h_http *c = w->data;
    /* The server may answer early and close while the rest of the request is still going out. */
    if (status < 0)
        c->failed = true;
}

static H_UNUSED void h_http_connected(uv_connect_t *req, int status)
{
    struct h_http *c = req->data;
    if (status < 0) {
        c->failed = c->eof = true;
        return;
    }
    c->connected = true;
    uv_read_start((uv_stream_t *)&c->tcp, h_http_alloc, h_http_read);
    uv_buf_t b = uv_buf_init(c->req, (unsigned)c->req_len);
    c->write.data = c;
    uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, h_http_written);
}

static H_UNUSED bool h_http_finished(void *arg)
{
    struct h_http *c = arg;
    return c->complete || c->eof;
}

static H_UNUSED void h_http_closed(uv_handle_t *hd) { ((struct h_http *)hd->data)->closed = true; }

static H_UNUSED bool h_http_is_closed(void *arg) { return ((struct h_http *)arg)->closed; }

/* The response of one response, parsed; body is NUL-terminated. */
struct h_resp {
    int status;
    char *head;                     /* status line and headers */
    char *body;
    size_t body_len;
};

static H_UNUSED void h_resp_free(struct h_resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* A header's value in r (case-insensitive name), copied into out; false when absent. */
static H_UNUSED bool h_resp_header(const struct h_resp *r, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            snprintf(out, size, "%.*s", (int)len, v);
            return true;
        }
    }
    return false;
}

/* Sends head (request line and headers, with the final blank line) then body on a new connection
 * and waits for the whole response. Returns false when no complete response came. */
static H_UNUSED bool h_http_exchange(uv_loop_t *loop, uint16_t port, const char *head, const void *body, size_t len,
                                     struct h_resp *resp)
{
    struct h_http *c = calloc(1, sizeof(*c));
    c->req_len = strlen(head) + len;
    c->req = malloc(c->req_len + 1);
    memcpy(c->req, head, strlen(head));
    if (len)
        memcpy(c->req + strlen(head), body, len);
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    c->connect.data = c;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    assert_int_equal(uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&addr, h_http_connected), 0);
    h_run_until(loop, h_http_finished, c, 10000);
    h_http_parse(c);
    memset(resp, 0, sizeof(*resp));
    bool ok = c->complete;
    if (ok) {
        resp->status = c->status;
        resp->head = strndup(c->in.data, c->head_len);
        resp->body = malloc(c->body_len + 1);
        memcpy(resp->body, c->in.data + c->head_len, c->body_len);
        resp->body[c->body_len] = '\0';
        resp->body_len = c->body_len;
    }
    uv_close((uv_handle_t *)&c->tcp, h_http_closed);
    h_run_until(loop, h_http_is_closed, c, 5000);
    oca_buf_free(&c->in);
    free(c->req);
    free(c);
    return ok;
}

/* POST of body to path with the given content type and extra header lines ("Name: v\r\n"...). */
static H_UNUSED bool h_post(uv_loop_t *loop, uint16_t port, const char *path, const char *content_type,
                            const char *extra, const void *body, size_t len, struct h_resp *resp)
{
    char head[2048];
    snprintf(head, sizeof(head),
             "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", path,
             content_type, len, extra ? extra : "");
    return h_http_exchange(loop, port, head, body, len, resp);
}

/* gzip (windowBits 31) or zlib (15) of data, in a malloc'd buffer. */
static H_UNUSED uint8_t *h_compress(const void *data, size_t len, int window_bits, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)len) + 64;
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* zstd of len bytes, with a checksum as Go's encoder writes it; free with free(). window_log 0: one
 * frame that declares its size (libzstd's one-shot compression); otherwise a streamed frame of
 * that window and no declared size, as a streaming encoder (Go's, for any body over one block)
 * writes it. */
static H_UNUSED uint8_t *h_zstd(const void *data, size_t len, int window_log, size_t *out_len)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    assert_non_null(c);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)));
    if (window_log)
        assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log)));
    size_t cap = ZSTD_compressBound(len) + 64;
    uint8_t *out = malloc(cap);
    ZSTD_outBuffer o = { out, cap, 0 };
    ZSTD_inBuffer in = { data, len, 0 };
    /* A first step that only continues leaves the size unknown, so the window stays as set. */
    if (window_log)
        while (in.pos < in.size)
            assert_false(ZSTD_isError(ZSTD_compressStream2(c, &o, &in, ZSTD_e_continue)));
    size_t left;
    do {
        left = ZSTD_compressStream2(c, &o, &in, ZSTD_e_end);
        assert_false(ZSTD_isError(left));
    } while (left != 0);
    ZSTD_freeCCtx(c);
    *out_len = o.pos;
    return out;
}

/* Serialised requests of each signal with n items (spans named "span-<i>", gauge points, log
 * bodies), in protobuf; free with free(). */
static H_UNUSED uint8_t *h_traces_proto(size_t n, size_t *len)
{
    struct oca_buf json = { 0 };
    oca_buf_puts(&json, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
                        "\"value\":{\"stringValue\":\"svc\"}}]},\"scopeSpans\":[{\"spans\":[");
    for (size_t i = 0; i < n; i++)
        oca_buf_printf(&json, "%s{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\","
                              "\"name\":\"span-%zu\",\"kind\":2}", i ? "," : "", i);
    oca_buf_puts(&json, "]}]}]}");
    struct oca_batch *b;
    char detail[256];
    if (oca_batch_decode(OCA_SIGNAL_TRACES, OCA_ENCODING_JSON, (const uint8_t *)json.data, json.len, &b, detail,
                         sizeof(detail)))
        fail_msg("%s", detail);
    uint8_t *wire = oca_batch_pack(b, len);
    oca_batch_unref(b);
    oca_buf_free(&json);
    return wire;
}

static H_UNUSED const char h_metrics_json[] =
    "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"g\",\"gauge\":{\"dataPoints\":"
    "[{\"asInt\":\"7\",\"timeUnixNano\":\"1700000000000000000\"},{\"asDouble\":1.5}]}}]}]}]}";
static H_UNUSED const char h_logs_json[] =
    "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"héllo\"},"
    "\"severityNumber\":9,\"traceId\":\"5B8EFFF798038103D269B633813FC60C\"}]}]}]}";

/* ---- gRPC over an nghttp2 client session on the same loop. ---- */

struct h_grpc {
    uv_tcp_t tcp;
    uv_connect_t connect;
    nghttp2_session *session;
    bool connected, eof, closed, stream_closed;
    int32_t stream_id;
    const uint8_t *req;             /* the framed request message */
    size_t req_len, req_off;
    bool end_after;                 /* end the request stream after the message */
    /* Response. */
    int http_status;
    int grpc_status;                /* -1 until seen */
    char grpc_message[512];
    char details_b64[1024];
    char content_type[128];
    struct oca_buf data;            /* response DATA bytes (gRPC framed) */
};

static H_UNUSED void h_grpc_write_done(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static H_UNUSED void h_grpc_flush(struct h_grpc *g)
{
    for (;;) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(g->session, &p);
        if (n <= 0)
            return;
        uv_write_t *w = malloc(sizeof(*w));
        w->data = malloc((size_t)n);
        memcpy(w->data, p, (size_t)n);
        uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
        if (uv_write(w, (uv_stream_t *)&g->tcp, &b, 1, h_grpc_write_done) != 0) {
            free(w->data);
            free(w);
            return;
        }
    }
}

static H_UNUSED void h_grpc_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct h_grpc *g = st->data;
    if (n < 0) {
        g->eof = true;
        return;
    }
    if (n > 0 && nghttp2_session_mem_recv(g->session, (const uint8_t *)buf->base, (size_t)n) < 0)
        g->eof = true;
    h_grpc_flush(g);
}

static H_UNUSED ssize_t h_grpc_source(nghttp2_session *s, int32_t id, uint8_t *out, size_t length, uint32_t *flags,
                                      nghttp2_data_source *src, void *user)
{
    (void)s; (void)id; (void)src;
    struct h_grpc *g = user;
    size_t n = g->req_len - g->req_off;
    if (n > length)
        n = length;
    memcpy(out, g->req + g->req_off, n);
    g->req_off += n;
    if (g->req_off == g->req_len && g->end_after)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    else if (g->req_off == g->req_len)
        return n ? (ssize_t)n : NGHTTP2_ERR_DEFERRED;
    return (ssize_t)n;
}

static H_UNUSED int h_grpc_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                                     const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
    (void)s; (void)f; (void)flags;
    struct h_grpc *g = user;
    char v[1024];
    snprintf(v, sizeof(v), "%.*s", (int)vlen, (const char *)value);
#define H_COPY(dst) snprintf(dst, sizeof(dst), "%.*s", (int)(sizeof(dst) - 1), v)
    if (nlen == 7 && memcmp(name, ":status", 7) == 0)
        g->http_status = atoi(v);
    else if (nlen == 11 && memcmp(name, "grpc-status", 11) == 0)
        g->grpc_status = atoi(v);
    else if (nlen == 12 && memcmp(name, "grpc-message", 12) == 0)
        H_COPY(g->grpc_message);
    else if (nlen == 23 && memcmp(name, "grpc-status-details-bin", 23) == 0)
        H_COPY(g->details_b64);
    else if (nlen == 12 && memcmp(name, "content-type", 12) == 0)
        H_COPY(g->content_type);
#undef H_COPY
    return 0;
}

static H_UNUSED int h_grpc_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                                   void *user)
{
    (void)s; (void)flags; (void)id;
    struct h_grpc *g = user;
    oca_buf_append(&g->data, data, len);
    return 0;
}

static H_UNUSED int h_grpc_on_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
    (void)s; (void)id; (void)code;
    ((struct h_grpc *)user)->stream_closed = true;
    return 0;
}

static H_UNUSED void h_grpc_connected(uv_connect_t *req, int status)
{
    struct h_grpc *g = req->data;
    if (status < 0) {
        g->eof = true;
        return;
    }
    g->connected = true;
    uv_read_start((uv_stream_t *)&g->tcp, h_http_alloc, h_grpc_read);
    h_grpc_flush(g);
}

static H_UNUSED bool h_grpc_finished(void *arg)
{
    struct h_grpc *g = arg;
    return g->stream_closed || g->eof;
}

static H_UNUSED void h_grpc_closed(uv_handle_t *hd) { ((struct h_grpc *)hd->data)->closed = true; }
static H_UNUSED bool h_grpc_is_closed(void *arg) { return ((struct h_grpc *)arg)->closed; }

/* How h_grpc_begin sends its message: H_GZIP is true, so a bool says plain or gzip. */
enum { H_PLAIN = 0, H_GZIP = 1, H_ZSTD = 2 };

/* Starts one unary call of path with msg (framed here, compressed as coding says) and extra
 * headers (name, value pairs, NULL-terminated); h_grpc_end waits for the stream to close. */
static H_UNUSED void h_grpc_begin(uv_loop_t *loop, uint16_t port, const char *path, const uint8_t *msg, size_t len,
                                  int coding, const char *const *extra, struct h_grpc *g)
{
    memset(g, 0, sizeof(*g));
    g->grpc_status = -1;
    size_t body_len = len;
    uint8_t *body = NULL;
    if (coding == H_GZIP)
        body = h_compress(msg, len, 31, &body_len);
    else if (coding == H_ZSTD)
        body = h_zstd(msg, len, 0, &body_len);
    uint8_t *framed = malloc(body_len + 5);
    framed[0] = body ? 1 : 0;
    framed[1] = (uint8_t)(body_len >> 24);
    framed[2] = (uint8_t)(body_len >> 16);
    framed[3] = (uint8_t)(body_len >> 8);
    framed[4] = (uint8_t)body_len;
    memcpy(framed + 5, body ? body : msg, body_len);
    free(body);
    g->req = framed;
    g->req_len = body_len + 5;
    g->end_after = true;

    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, h_grpc_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h_grpc_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h_grpc_on_close);
    nghttp2_session_client_new(&g->session, cbs, g);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(g->session, NGHTTP2_FLAG_NONE, NULL, 0);

    char authority[32];
    snprintf(authority, sizeof(authority), "127.0.0.1:%u", port);
    nghttp2_nv nva[16];
    size_t n = 0;
#define H_NV(k, v) nva[n++] = (nghttp2_nv){ (uint8_t *)(uintptr_t)(k), (uint8_t *)(uintptr_t)(v), strlen(k), strlen(v), \
                                           NGHTTP2_NV_FLAG_NONE }
    H_NV(":method", "POST");
    H_NV(":scheme", "http");
    H_NV(":authority", authority);
    H_NV(":path", path);
    H_NV("content-type", "application/grpc");
    H_NV("te", "trailers");
    if (coding)
        H_NV("grpc-encoding", coding == H_GZIP ? "gzip" : "zstd");
    for (size_t i = 0; extra && extra[i] && n < 14; i += 2)
        H_NV(extra[i], extra[i + 1]);
#undef H_NV
    nghttp2_data_provider prd = { .source = { .ptr = g }, .read_callback = h_grpc_source };
    g->stream_id = nghttp2_submit_request(g->session, NULL, nva, n, &prd, g);
    assert_true(g->stream_id > 0);

    uv_tcp_init(loop, &g->tcp);
    g->tcp.data = g;
    g->connect.data = g;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    assert_int_equal(uv_tcp_connect(&g->connect, &g->tcp, (const struct sockaddr *)&addr, h_grpc_connected), 0);
}

/* Waits for the call's stream to close (or the connection to end), then closes the connection.
 * The caller frees g->data. */
static H_UNUSED void h_grpc_end(uv_loop_t *loop, struct h_grpc *g)
{
    h_run_until(loop, h_grpc_finished, g, 10000);
    uv_close((uv_handle_t *)&g->tcp, h_grpc_closed);
    h_run_until(loop, h_grpc_is_closed, g, 5000);
    nghttp2_session_del(g->session);
    g->session = NULL;
    free((void *)(uintptr_t)g->req);
    g->req = NULL;
}

/* h_grpc_begin, then h_grpc_end. */
static H_UNUSED void h_grpc_call(uv_loop_t *loop, uint16_t port, const char *path, const uint8_t *msg, size_t len,
                                 int coding, const char *const *extra, struct h_grpc *g)
{
    h_grpc_begin(loop, port, path, msg, len, coding, extra, g);
    h_grpc_end(loop, g);
}

#endif
