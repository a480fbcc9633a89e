/* Helpers for the net/ unit tests, all on the test's own loop next to the server under test: a raw
 * TCP client on 127.0.0.1, an HTTP/2 client built on an nghttp2 client session (so tests choose
 * exactly how request bytes are cut into DATA frames), child processes (curl, nghttp, openssl)
 * whose output is collected while the loop runs, and a recording handler. Header-only, static
 * functions: include it once per test program. */
#ifndef OCA_TEST_UNIT_NET_NETUTIL_H
#define OCA_TEST_UNIT_NET_NETUTIL_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/errors.h"
#include "base/mem.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "testutil.h"

#define NT_WAIT_MS 5000
/* Each test program uses some of these helpers only. */
#define NT_FN static __attribute__((unused))

/* Outbound clients (net/http_client.h). */

NT_FN void nt_set_flag(void *arg)
{
    *(bool *)arg = true;
}

NT_FN bool nt_flag_set(void *arg)
{
    return *(bool *)arg;
}

/* Closes c and runs the loop until the client is freed. */
NT_FN void nt_client_close(uv_loop_t *loop, struct oca_http_client *c)
{
    bool closed = false;
    oca_http_client_close(c, nt_set_flag, &closed);
    assert_true(oca_test_run_until(loop, nt_flag_set, &closed, NT_WAIT_MS));
}

/* Certificates made with the openssl CLI in dir: a test CA (ca.pem, ca.key), made on first use, and
 * NAME.pem / NAME.key for subject cn signed by it, with subjectAltName san (NULL: none). True once
 * both files exist. */
NT_FN bool nt_make_cert(const char *dir, const char *name, const char *cn, const char *san)
{
    char cmd[2048], path[512];
    snprintf(path, sizeof(path), "%s/ca.pem", dir);
    if (access(path, R_OK) != 0) {
        snprintf(cmd, sizeof(cmd),
                 "(cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                 "-keyout ca.key -out ca.pem -days 2 -subj /CN=ocagent-test-ca) >/dev/null 2>&1", dir);
        if (system(cmd) != 0)
            return false;
    }
    snprintf(cmd, sizeof(cmd),
             "(cd %s && printf '%s%s\\n' > %s.ext && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout %s.key -out %s.csr "
             "-subj /CN=%s && openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out %s.pem -days 2 -extfile %s.ext) >/dev/null 2>&1",
             dir, san ? "subjectAltName=" : "basicConstraints=CA:FALSE", san ? san : "", name, name, name, cn,
             name, name, name);
    if (system(cmd) != 0)
        return false;
    snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
    return access(path, R_OK) == 0;
}

/* Raw TCP client. */

struct nt_client {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    uv_connect_t creq;
    struct oca_buf in;
    bool connected, failed, eof, closed;
    int read_error;
    void (*on_data)(struct nt_client *c, const uint8_t *data, size_t len);
    void *user;
};

NT_FN void nt_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    (void)h;
    b->base = oca_xmalloc(s);
    b->len = s;
}

NT_FN void nt_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct nt_client *c = s->data;
    if (n > 0) {
        oca_buf_append(&c->in, b->base, (size_t)n);
        if (c->on_data)
            c->on_data(c, (const uint8_t *)b->base, (size_t)n);
    } else if (n < 0) {
        c->eof = true;
        c->read_error = (int)n;
        uv_read_stop(s);
    }
    free(b->base);
}

NT_FN void nt_connected(uv_connect_t *req, int status)
{
    struct nt_client *c = req->data;
    if (status < 0) {
        c->failed = true;
        return;
    }
    c->connected = true;
    uv_read_start((uv_stream_t *)&c->tcp, nt_alloc, nt_read);
}

NT_FN bool nt_is_connected(void *arg)
{
    struct nt_client *c = arg;
    return c->connected || c->failed;
}

/* Connects to 127.0.0.1:port; true once connected. */
NT_FN bool nt_connect(struct nt_client *c, uv_loop_t *loop, uint16_t port)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    c->creq.data = c;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&a, nt_connected);
    oca_test_run_until(loop, nt_is_connected, c, NT_WAIT_MS);
    return c->connected;
}

struct nt_wreq {
    uv_write_t req;
    char *data;
};

NT_FN void nt_written(uv_write_t *req, int status)
{
    (void)status;
    struct nt_wreq *w = (struct nt_wreq *)req;
    free(w->data);
    free(w);
}

NT_FN void nt_send(struct nt_client *c, const void *data, size_t len)
{
    if (c->closed || len == 0)
        return;
    struct nt_wreq *w = oca_xmalloc(sizeof(*w));
    w->data = oca_xmalloc(len);
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, nt_written) != 0) {
        free(w->data);
        free(w);
    }
}

NT_FN void nt_sends(struct nt_client *c, const char *text)
{
    nt_send(c, text, strlen(text));
}

struct nt_until {
    struct nt_client *c;
    const char *needle;
    size_t count;
};

NT_FN size_t nt_count(const struct oca_buf *b, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    if (!b->data)
        return 0;
    for (const char *p = b->data; (p = memmem(p, b->len - (size_t)(p - b->data), needle, nl)) != NULL; p += nl)
        n++;
    return n;
}

NT_FN bool nt_has(void *arg)
{
    struct nt_until *u = arg;
    return nt_count(&u->c->in, u->needle) >= u->count || u->c->eof;
}

/* Runs the loop until `needle` was received `count` times (or EOF, or the deadline). */
NT_FN bool nt_wait_for(struct nt_client *c, const char *needle, size_t count)
{
    struct nt_until u = { c, needle, count };
    oca_test_run_until(c->loop, nt_has, &u, NT_WAIT_MS);
    return nt_count(&c->in, needle) >= count;
}

NT_FN bool nt_is_eof(void *arg)
{
    return ((struct nt_client *)arg)->eof;
}

/* Runs the loop until the server closed the connection; true if it did within ms. */
NT_FN bool nt_wait_eof(struct nt_client *c, uint64_t ms)
{
    return oca_test_run_until(c->loop, nt_is_eof, c, ms);
}

NT_FN void nt_closed(uv_handle_t *h)
{
    ((struct nt_client *)h->data)->closed = true;
}

NT_FN bool nt_is_closed(void *arg)
{
    return ((struct nt_client *)arg)->closed;
}

NT_FN void nt_close(struct nt_client *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, nt_closed);
    oca_test_run_until(c->loop, nt_is_closed, c, NT_WAIT_MS);
    oca_buf_free(&c->in);
}

/* Child processes. */

struct nt_proc {
    uv_process_t proc;
    uv_pipe_t out, err;
    struct oca_buf output;
    bool exited;
    int handles;
    int64_t status;
};

NT_FN void nt_proc_closed(uv_handle_t *h)
{
    ((struct nt_proc *)h->data)->handles--;
}

NT_FN void nt_proc_exit(uv_process_t *p, int64_t status, int sig)
{
    struct nt_proc *np = p->data;
    np->exited = true;
    np->status = sig ? 128 + sig : status;
    uv_close((uv_handle_t *)p, nt_proc_closed);
}

NT_FN void nt_proc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct nt_proc *np = s->data;
    if (n > 0)
        oca_buf_append(&np->output, b->base, (size_t)n);
    else if (n < 0 && !uv_is_closing((uv_handle_t *)s))
        uv_close((uv_handle_t *)s, nt_proc_closed);
    free(b->base);
}

NT_FN bool nt_proc_done(void *arg)
{
    struct nt_proc *np = arg;
    return np->handles == 0;
}

/* Runs argv (PATH is searched) with stdout and stderr into *output; the loop runs meanwhile, so
 * the server under test answers. Returns the exit status (-1: could not start or timed out). */
NT_FN int nt_run(uv_loop_t *loop, const char *const *argv, struct oca_buf *output, uint64_t ms)
{
    struct nt_proc np;
    memset(&np, 0, sizeof(np));
    uv_pipe_init(loop, &np.out, 0);
    uv_pipe_init(loop, &np.err, 0);
    np.out.data = np.err.data = &np;
    np.proc.data = &np;
    uv_stdio_container_t stdio[3] = {
        { .flags = UV_IGNORE },
        { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&np.out },
        { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&np.err },
    };
    uv_process_options_t opt = {
        .exit_cb = nt_proc_exit, .file = argv[0], .args = (char **)(uintptr_t)argv, .stdio_count = 3,
        .stdio = stdio,
    };
    np.handles = 3;
    int r = uv_spawn(loop, &np.proc, &opt);
    if (r != 0) {
        uv_close((uv_handle_t *)&np.out, nt_proc_closed);
        uv_close((uv_handle_t *)&np.err, nt_proc_closed);
        np.handles = 2;
        oca_test_run_until(loop, nt_proc_done, &np, NT_WAIT_MS);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], uv_strerror(r));
        return -1;
    }
    uv_read_start((uv_stream_t *)&np.out, nt_alloc, nt_proc_read);
    uv_read_start((uv_stream_t *)&np.err, nt_alloc, nt_proc_read);
    bool ok = oca_test_run_until(loop, nt_proc_done, &np, ms);
    if (!ok) {
        uv_process_kill(&np.proc, SIGKILL);
        oca_test_run_until(loop, nt_proc_done, &np, NT_WAIT_MS);
    }
    if (output)
        *output = np.output;
    else
        oca_buf_free(&np.output);
    return ok ? (int)np.status : -1;
}

/* A recording handler. Behaviour per request path:
 *   /early      answers 403 from on_headers (before any body)
 *   /stream     streams the body (on_body), answers at the end with the byte count
 *   /pause      streams and pauses at the first piece until the test resumes it
 *   /pieces     answers in three pieces (headers, data, data, end with a trailer)
 *   /noanswer   never answers (the client or a limit ends it)
 *   anything    buffered; answers 200 with "<method> <path> <n> bytes" */

struct nt_server {
    uv_loop_t loop;
    struct oca_http_server_config cfg;
    struct oca_http_server *srv;
    bool closed;
    int headers, bodies, ends, closes;
    size_t streamed;
    struct oca_http_stream *paused;
    char last_path[128];
    char last_method[16];
    char last_host[64];
    int last_version;
    struct oca_buf last_body;
};

NT_FN const struct oca_http_header nt_text[] = { { "Content-Type", 12, "text/plain", 10 } };

NT_FN void nt_on_headers(struct oca_http_stream *s)
{
    struct nt_server *t = oca_http_stream_handler_data(s);
    t->headers++;
    snprintf(t->last_path, sizeof(t->last_path), "%s", oca_http_stream_path(s));
    snprintf(t->last_method, sizeof(t->last_method), "%s", oca_http_stream_method(s));
    const char *host = oca_http_stream_header(s, "host");
    snprintf(t->last_host, sizeof(t->last_host), "%s", host ? host : "");
    t->last_version = oca_http_stream_version(s);
    const char *p = oca_http_stream_path(s);
    if (strcmp(p, "/early") == 0)
        oca_http_respond(s, 403, nt_text, 1, "no\n", 3);
    else if (strcmp(p, "/stream") == 0 || strcmp(p, "/pause") == 0)
        oca_http_stream_stream_body(s);
}

NT_FN void nt_on_body(struct oca_http_stream *s, const uint8_t *data, size_t len)
{
    struct nt_server *t = oca_http_stream_handler_data(s);
    (void)data;
    t->bodies++;
    t->streamed += len;
    if (strcmp(oca_http_stream_path(s), "/pause") == 0 && !t->paused) {
        t->paused = s;
        oca_http_stream_pause(s);
    }
}

NT_FN void nt_on_end(struct oca_http_stream *s, const uint8_t *body, size_t len)
{
    struct nt_server *t = oca_http_stream_handler_data(s);
    t->ends++;
    oca_buf_reset(&t->last_body);
    oca_buf_append(&t->last_body, body ? (const char *)body : "", len);
    const char *p = oca_http_stream_path(s);
    if (strcmp(p, "/noanswer") == 0)
        return;
    if (strcmp(p, "/pieces") == 0) {
        static const struct oca_http_header tr[] = { { "x-trailer", 9, "yes", 3 } };
        oca_http_send_headers(s, 200, nt_text, 1);
        oca_http_send_data(s, "first,", 6);
        oca_http_send_data(s, "second", 6);
        oca_http_send_end(s, tr, 1);
        return;
    }
    char out[256];
    size_t n = strcmp(p, "/stream") == 0 || strcmp(p, "/pause") == 0 ? t->streamed : len;
    int k = snprintf(out, sizeof(out), "%s %s %zu bytes", oca_http_stream_method(s), p, n);
    oca_http_respond(s, 200, nt_text, 1, out, (size_t)k);
}

NT_FN void nt_on_close(struct oca_http_stream *s)
{
    struct nt_server *t = oca_http_stream_handler_data(s);
    t->closes++;
    if (t->paused == s)
        t->paused = NULL;
}

NT_FN const struct oca_http_handler nt_handler = {
    .on_headers = nt_on_headers, .on_body = nt_on_body, .on_end = nt_on_end, .on_close = nt_on_close,
};

/* Defaults as the field table gives them, on 127.0.0.1 port 0. */
NT_FN void nt_default_config(struct oca_http_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->endpoint.host = "127.0.0.1";
    cfg->endpoint.port = 0;
    cfg->endpoint.text = "127.0.0.1:0";
    cfg->max_connections = 1024;
    cfg->max_concurrent_streams = 100;
    cfg->max_header_bytes = 1024 * 1024;
    cfg->max_request_body_size = 64u * 1024 * 1024;
    cfg->read_header_timeout_ns = 10 * OCA_NS_PER_S;
    cfg->read_timeout_ns = 30 * OCA_NS_PER_S;
    cfg->idle_timeout_ns = 60 * OCA_NS_PER_S;
    cfg->tls.min_version = OCA_TLS_1_2;
}

/* Starts a server with t->cfg (filled by the test, see nt_default_config) and handler h (NULL: the
 * recording handler) with handler data hd (NULL: t). */
NT_FN void nt_server_start(struct nt_server *t, const struct oca_http_handler *h, void *hd)
{
    t->srv = oca_http_server_new(&t->loop, &t->cfg, h ? h : &nt_handler, hd ? hd : t, "test");
    assert_int_equal(oca_http_server_start(t->srv), OCA_OK);
    assert_true(oca_http_server_port(t->srv) > 0);
}

NT_FN void nt_server_closed(struct oca_http_server *srv, void *arg)
{
    (void)srv;
    ((struct nt_server *)arg)->closed = true;
}

NT_FN bool nt_server_is_closed(void *arg)
{
    return ((struct nt_server *)arg)->closed;
}

NT_FN void nt_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Closes the server, runs the loop until done fired and frees it. */
NT_FN void nt_server_shutdown(struct nt_server *t)
{
    oca_http_server_close(t->srv, nt_server_closed, t);
    assert_true(oca_test_run_until(&t->loop, nt_server_is_closed, t, NT_WAIT_MS));
    oca_http_server_free(t->srv);
    t->srv = NULL;
}

/* Checks that nothing is left on the loop and closes it. */
NT_FN void nt_loop_finish(struct nt_server *t)
{
    oca_buf_free(&t->last_body);
    uv_run(&t->loop, UV_RUN_NOWAIT);
    int r = uv_loop_close(&t->loop);
    if (r != 0) {
        uv_walk(&t->loop, nt_walk_close, NULL);
        uv_run(&t->loop, UV_RUN_DEFAULT);
        uv_loop_close(&t->loop);
    }
    assert_int_equal(r, 0);
}

NT_FN void nt_server_stop(struct nt_server *t)
{
    nt_server_shutdown(t);
    nt_loop_finish(t);
}

/* HTTP/2 client over a raw connection, one nghttp2 client session. */

#define NT_H2_MAX_STREAMS 16
#define NT_H2_MAX_CHUNKS 512

struct nt_h2_stream {
    int32_t id;
    int status;
    struct oca_buf headers;         /* "name: value\n" lines of the response headers */
    struct oca_buf trailers;        /* the same for trailers */
    struct oca_buf body;
    bool closed;
    uint32_t error_code;            /* RST_STREAM code (0: none) */
    const uint8_t *chunks[NT_H2_MAX_CHUNKS];   /* request body, one DATA frame per chunk */
    size_t chunk_len[NT_H2_MAX_CHUNKS];
    size_t n_chunks, next_chunk;
    size_t chunk_off;               /* of next_chunk already sent (flow control may split one) */
    bool end_after_chunks;          /* END_STREAM with the last chunk */
    bool hold;                      /* DEFERRED after the chunks so far, until nt_h2_more */
};

struct nt_h2 {
    struct nt_client raw;
    nghttp2_session *session;
    struct nt_h2_stream streams[NT_H2_MAX_STREAMS];
    size_t n_streams;
    bool goaway;
    uint32_t goaway_code;
    bool settings_seen;
    uint32_t server_max_streams;
};

NT_FN void nt_h2_flush(struct nt_h2 *h)
{
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(h->session, &data);
        if (n <= 0)
            break;
        nt_send(&h->raw, data, (size_t)n);
    }
}

NT_FN struct nt_h2_stream *nt_h2_find(struct nt_h2 *h, int32_t id)
{
    for (size_t i = 0; i < h->n_streams; i++)
        if (h->streams[i].id == id)
            return &h->streams[i];
    return NULL;
}

NT_FN void nt_h2_on_data(struct nt_client *c, const uint8_t *data, size_t len)
{
    struct nt_h2 *h = c->user;
    nghttp2_session_mem_recv(h->session, data, len);
    nt_h2_flush(h);
}

NT_FN int nt_h2_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                           const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    (void)s;
    (void)flags;
    struct nt_h2_stream *st = nt_h2_find(ud, f->hd.stream_id);
    if (!st || f->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (nl == 7 && memcmp(name, ":status", 7) == 0) {
        st->status = atoi((const char *)value);
        return 0;
    }
    struct oca_buf *b = f->headers.cat == NGHTTP2_HCAT_HEADERS && st->status ? &st->trailers : &st->headers;
    /* A trailers-only answer has END_STREAM on its only HEADERS: its fields count as trailers too. */
    oca_buf_append(b, name, nl);
    oca_buf_append(b, ": ", 2);
    oca_buf_append(b, value, vl);
    oca_buf_append(b, "\n", 1);
    return 0;
}

NT_FN int nt_h2_on_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *ud)
{
    (void)s;
    (void)flags;
    struct nt_h2_stream *st = nt_h2_find(ud, id);
    if (st)
        oca_buf_append(&st->body, data, len);
    return 0;
}

NT_FN int nt_h2_on_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    (void)s;
    struct nt_h2_stream *st = nt_h2_find(ud, id);
    if (st) {
        st->closed = true;
        st->error_code = code;
    }
    return 0;
}

NT_FN int nt_h2_on_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    struct nt_h2 *h = ud;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        h->goaway = true;
        h->goaway_code = f->goaway.error_code;
    }
    if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK)) {
        h->settings_seen = true;
        for (size_t i = 0; i < f->settings.niv; i++)
            if (f->settings.iv[i].settings_id == NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
                h->server_max_streams = f->settings.iv[i].value;
    }
    return 0;
}

NT_FN bool nt_h2_connect(struct nt_h2 *h, uv_loop_t *loop, uint16_t port)
{
    memset(h, 0, sizeof(*h));
    if (!nt_connect(&h->raw, loop, port))
        return false;
    h->raw.user = h;
    h->raw.on_data = nt_h2_on_data;
    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, nt_h2_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, nt_h2_on_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, nt_h2_on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, nt_h2_on_frame);
    nghttp2_session_client_new(&h->session, cbs, h);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, NULL, 0);
    nt_h2_flush(h);
    return true;
}

NT_FN ssize_t nt_h2_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                               nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)ud;
    struct nt_h2_stream *st = src->ptr;
    if (st->next_chunk == st->n_chunks) {
        if (st->hold)
            return NGHTTP2_ERR_DEFERRED;
        if (st->end_after_chunks)
            *flags |= NGHTTP2_DATA_FLAG_EOF;
        else
            return NGHTTP2_ERR_DEFERRED;
        return 0;
    }
    size_t n = st->chunk_len[st->next_chunk] - st->chunk_off;
    if (n > length)
        n = length;
    memcpy(buf, st->chunks[st->next_chunk] + st->chunk_off, n);
    st->chunk_off += n;
    if (st->chunk_off == st->chunk_len[st->next_chunk]) {
        st->next_chunk++;
        st->chunk_off = 0;
    }
    if (st->next_chunk == st->n_chunks && st->end_after_chunks && !st->hold)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* Submits a request; extra headers as "name", "value" pairs ending with NULL. body_chunks: each
 * becomes its own DATA frame (NULL: no body). Returns the stream. */
NT_FN struct nt_h2_stream *nt_h2_request(struct nt_h2 *h, const char *method, const char *path,
                                          const uint8_t *const *chunks, const size_t *lens, size_t n_chunks,
                                          bool end, const char *const *extra)
{
    nghttp2_nv nv[24];
    size_t k = 0;
#define NV(n, v) (nghttp2_nv){ (uint8_t *)(uintptr_t)(n), (uint8_t *)(uintptr_t)(v), strlen(n), strlen(v), 0 }
    nv[k++] = NV(":method", method);
    nv[k++] = NV(":scheme", "http");
    nv[k++] = NV(":authority", "127.0.0.1");
    nv[k++] = NV(":path", path);
    for (size_t i = 0; extra && extra[i] && k < 24; i += 2)
        nv[k++] = NV(extra[i], extra[i + 1]);
#undef NV
    struct nt_h2_stream *st = &h->streams[h->n_streams++];
    memset(st, 0, sizeof(*st));
    for (size_t i = 0; i < n_chunks; i++) {
        st->chunks[i] = chunks[i];
        st->chunk_len[i] = lens[i];
    }
    st->n_chunks = n_chunks;
    st->end_after_chunks = end;
    nghttp2_data_provider prd = { .source.ptr = st, .read_callback = nt_h2_read_body };
    st->id = nghttp2_submit_request(h->session, NULL, nv, k, (n_chunks || !end) ? &prd : NULL, h);
    assert_true(st->id > 0);
    nt_h2_flush(h);
    return st;
}

/* Adds chunks to a stream (after hold or an open end) and sends them. */
NT_FN void nt_h2_more(struct nt_h2 *h, struct nt_h2_stream *st, const uint8_t *data, size_t len, bool end)
{
    if (data) {
        st->chunks[st->n_chunks] = data;
        st->chunk_len[st->n_chunks] = len;
        st->n_chunks++;
    }
    st->end_after_chunks = end;
    st->hold = false;
    nghttp2_session_resume_data(h->session, st->id);
    nt_h2_flush(h);
}

NT_FN bool nt_h2_stream_closed(void *arg)
{
    return ((struct nt_h2_stream *)arg)->closed;
}

NT_FN bool nt_h2_wait_closed(struct nt_h2 *h, struct nt_h2_stream *st)
{
    return oca_test_run_until(h->raw.loop, nt_h2_stream_closed, st, NT_WAIT_MS);
}

NT_FN void nt_h2_close(struct nt_h2 *h)
{
    nt_close(&h->raw);
    nghttp2_session_del(h->session);
    for (size_t i = 0; i < h->n_streams; i++) {
        oca_buf_free(&h->streams[i].headers);
        oca_buf_free(&h->streams[i].trailers);
        oca_buf_free(&h->streams[i].body);
    }
}

/* "name: value" present in a header dump. */
NT_FN bool nt_has_line(const struct oca_buf *b, const char *line)
{
    return b->data && strstr(b->data, line) != NULL;
}

#endif
