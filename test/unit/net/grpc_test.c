/* Tests net/grpc.c: the deframer on its own, then gRPC calls over real HTTP/2 connections from an
 * nghttp2 client session, through a handler that (as the OTLP receiver does) serves gRPC and plain
 * HTTP on one listener: unary and streaming calls, messages split across DATA frames and several
 * in one frame, gzip and zstd (bombs, corrupt data, zstd windows), max_recv_msg_size, unknown
 * methods and encodings, grpc-timeout, status details, wrong content-type and HTTP/1.1, pause and
 * resume, client cancellation. */
#include "netutil.h"

#include <zlib.h>
#include <zstd.h>

#include "net/grpc.h"

/* Deframer. */

static void frame(struct oca_buf *b, uint8_t flag, const void *p, size_t n)
{
    uint8_t h[5] = { flag, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
    oca_buf_append(b, h, 5);
    oca_buf_append(b, p, n);
}

static void gzip_bytes(const void *in, size_t n, struct oca_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    oca_buf_reserve(out, deflateBound(&z, n));
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)(out->cap - out->len);
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    out->len += z.total_out;
    deflateEnd(&z);
}

/* zstd of n bytes: one frame that declares its size, or (window_log > 0) a streamed frame of that
 * window that does not, as Go's encoder writes messages over one block. */
static void zstd_bytes(const void *in, size_t n, int window_log, struct oca_buf *out)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    if (window_log)
        assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log)));
    size_t bound = ZSTD_compressBound(n);
    oca_buf_reserve(out, bound);
    ZSTD_outBuffer o = { out->data + out->len, bound, 0 };
    ZSTD_inBuffer i = { in, n, 0 };
    if (window_log)
        while (i.pos < i.size)
            assert_false(ZSTD_isError(ZSTD_compressStream2(c, &o, &i, ZSTD_e_continue)));
    size_t left;
    do {
        left = ZSTD_compressStream2(c, &o, &i, ZSTD_e_end);
        assert_false(ZSTD_isError(left));
    } while (left);
    out->len += o.pos;
    ZSTD_freeCCtx(c);
}

/* The one message in wire, deframed as zstd under max_msg: 1 with *m, *len, or the error. */
static int zstd_deframe(const struct oca_buf *wire, uint64_t max_msg, struct oca_grpc_deframer *d, const uint8_t **m,
                        size_t *len, const char **why)
{
    oca_grpc_deframer_init(d, OCA_GRPC_ENC_ZSTD, max_msg);
    oca_grpc_deframer_feed(d, (const uint8_t *)wire->data, wire->len);
    return oca_grpc_deframer_next(d, m, len, why);
}

static void test_deframer_zstd(void **state)
{
    (void)state;
    struct oca_grpc_deframer d;
    const uint8_t *m;
    size_t len;
    const char *why;
    char *plain = oca_xmalloc(300000);
    for (size_t i = 0; i < 300000; i++)
        plain[i] = (char)('a' + (i * 7 + i / 11) % 23);
    /* Declared size, a Go-sized streamed window, and two frames in one message. */
    for (int form = 0; form < 3; form++) {
        struct oca_buf z = { 0 }, wire = { 0 };
        zstd_bytes(plain, 300000, form == 1 ? 23 : 0, &z);
        if (form == 2)
            zstd_bytes(plain, 1000, 0, &z);
        frame(&wire, 1, z.data, z.len);
        frame(&wire, 0, "raw", 3);
        assert_int_equal(zstd_deframe(&wire, 400000, &d, &m, &len, &why), 1);
        assert_int_equal(len, form == 2 ? 301000 : 300000);
        assert_memory_equal(m, plain, 300000);
        if (form == 2)
            assert_memory_equal(m + 300000, plain, 1000);
        /* An uncompressed message may follow. */
        assert_int_equal(oca_grpc_deframer_next(&d, &m, &len, &why), 1);
        assert_int_equal(len, 3);
        oca_grpc_deframer_free(&d);
        oca_buf_free(&z);
        oca_buf_free(&wire);
    }
    /* An empty compressed message is an empty message, as Go's zstd reader reads it. */
    struct oca_buf wire = { 0 };
    frame(&wire, 1, "", 0);
    assert_int_equal(zstd_deframe(&wire, 100, &d, &m, &len, &why), 1);
    assert_int_equal(len, 0);
    oca_grpc_deframer_free(&d);
    /* A bomb stops at the limit: 64 MiB of zeros in a few KiB. */
    char *zeros = calloc(1, (size_t)64 << 20);
    struct oca_buf z = { 0 };
    zstd_bytes(zeros, (size_t)64 << 20, 0, &z);
    free(zeros);
    assert_true(z.len < (16 << 10));
    oca_buf_reset(&wire);
    frame(&wire, 1, z.data, z.len);
    assert_int_equal(zstd_deframe(&wire, 4 << 20, &d, &m, &len, &why), -OCA_GRPC_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(why, "after decompression larger than max (4194304)"));
    assert_true(d.out_cap <= (4 << 20) + 1);
    oca_grpc_deframer_free(&d);
    /* The same, streamed with no declared size, is stopped as it grows. */
    oca_buf_reset(&z);
    zstd_bytes(plain, 300000, 20, &z);
    oca_buf_reset(&wire);
    frame(&wire, 1, z.data, z.len);
    assert_int_equal(zstd_deframe(&wire, 299999, &d, &m, &len, &why), -OCA_GRPC_RESOURCE_EXHAUSTED);
    assert_true(d.out_cap <= 300000);
    oca_grpc_deframer_free(&d);
    /* A frame asking for a 128 MiB window. */
    oca_buf_reset(&z);
    zstd_bytes(plain, 1000, 27, &z);
    oca_buf_reset(&wire);
    frame(&wire, 1, z.data, z.len);
    assert_int_equal(zstd_deframe(&wire, 4 << 20, &d, &m, &len, &why), -OCA_GRPC_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(why, "window larger than 8388608"));
    oca_grpc_deframer_free(&d);
    /* Truncated, corrupt, and gzip sent as zstd: INTERNAL. */
    oca_buf_reset(&z);
    zstd_bytes(plain, 5000, 0, &z);
    oca_buf_reset(&wire);
    frame(&wire, 1, z.data, z.len - 4);
    assert_int_equal(zstd_deframe(&wire, 10000, &d, &m, &len, &why), -OCA_GRPC_INTERNAL);
    assert_non_null(strstr(why, "truncated zstd data"));
    oca_grpc_deframer_free(&d);
    z.data[0] ^= 1;
    oca_buf_reset(&wire);
    frame(&wire, 1, z.data, z.len);
    assert_int_equal(zstd_deframe(&wire, 10000, &d, &m, &len, &why), -OCA_GRPC_INTERNAL);
    assert_non_null(strstr(why, "failed to decompress"));
    oca_grpc_deframer_free(&d);
    oca_buf_reset(&z);
    gzip_bytes(plain, 5000, &z);
    oca_buf_reset(&wire);
    frame(&wire, 1, z.data, z.len);
    assert_int_equal(zstd_deframe(&wire, 10000, &d, &m, &len, &why), -OCA_GRPC_INTERNAL);
    oca_grpc_deframer_free(&d);
    oca_buf_free(&z);
    oca_buf_free(&wire);
    free(plain);
}

static void test_deframer_chunkings(void **state)
{
    (void)state;
    struct oca_buf wire = { 0 };
    frame(&wire, 0, "one", 3);
    frame(&wire, 0, "", 0);
    frame(&wire, 0, "three!", 6);
    /* Every split point, byte by byte and all at once give the same messages. */
    for (size_t step = 1; step <= wire.len; step++) {
        struct oca_grpc_deframer d;
        oca_grpc_deframer_init(&d, OCA_GRPC_ENC_IDENTITY, 100);
        const char *want[] = { "one", "", "three!" };
        size_t got = 0;
        for (size_t off = 0; off < wire.len; off += step) {
            size_t n = wire.len - off < step ? wire.len - off : step;
            oca_grpc_deframer_feed(&d, (const uint8_t *)wire.data + off, n);
            const uint8_t *m;
            size_t len;
            const char *why;
            int r;
            while ((r = oca_grpc_deframer_next(&d, &m, &len, &why)) == 1) {
                assert_true(got < 3);
                assert_int_equal(len, strlen(want[got]));
                assert_memory_equal(m, want[got], len);
                got++;
            }
            assert_int_equal(r, 0);
        }
        assert_int_equal(got, 3);
        assert_int_equal(oca_grpc_deframer_pending(&d), 0);
        oca_grpc_deframer_free(&d);
    }
    oca_buf_free(&wire);
}

static void test_deframer_errors(void **state)
{
    (void)state;
    struct oca_grpc_deframer d;
    const uint8_t *m;
    size_t len;
    const char *why;
    /* Over the limit: known from the prefix, before the payload arrives. */
    oca_grpc_deframer_init(&d, OCA_GRPC_ENC_IDENTITY, 10);
    uint8_t big[5] = { 0, 0, 0, 0, 11 };
    oca_grpc_deframer_feed(&d, big, 5);
    assert_int_equal(oca_grpc_deframer_next(&d, &m, &len, &why), -OCA_GRPC_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(why, "larger than max (11 vs. 10)"));
    assert_int_equal(oca_grpc_deframer_next(&d, &m, &len, &why), -OCA_GRPC_RESOURCE_EXHAUSTED);
    oca_grpc_deframer_free(&d);
    /* Compressed flag without an encoding. */
    oca_grpc_deframer_init(&d, OCA_GRPC_ENC_IDENTITY, 100);
    uint8_t comp[6] = { 1, 0, 0, 0, 1, 'x' };
    oca_grpc_deframer_feed(&d, comp, 6);
    assert_int_equal(oca_grpc_deframer_next(&d, &m, &len, &why), -OCA_GRPC_INTERNAL);
    oca_grpc_deframer_free(&d);
    /* A bad flag. */
    oca_grpc_deframer_init(&d, OCA_GRPC_ENC_GZIP, 100);
    uint8_t flag[5] = { 7, 0, 0, 0, 0 };
    oca_grpc_deframer_feed(&d, flag, 5);
    assert_int_equal(oca_grpc_deframer_next(&d, &m, &len, &why), -OCA_GRPC_INTERNAL);
    oca_grpc_deframer_free(&d);
    /* Corrupt gzip. */
    oca_grpc_deframer_init(&d, OCA_GRPC_ENC_GZIP, 100);
    uint8_t bad[9] = { 1, 0, 0, 0, 4, 0x1f, 0x8b, 0, 0 };
    oca_grpc_deframer_feed(&d, bad, 9);
    assert_int_equal(oca_grpc_deframer_next(&d, &m, &len, &why), -OCA_GRPC_INTERNAL);
    oca_grpc_deframer_free(&d);
}

static void test_deframer_gzip_and_bomb(void **state)
{
    (void)state;
    struct oca_grpc_deframer d;
    const uint8_t *m;
    size_t len;
    const char *why;
    char *plain = oca_xmalloc(100000);
    memset(plain, 'z', 100000);
    struct oca_buf gz = { 0 }, wire = { 0 };
    gzip_bytes(plain, 100000, &gz);
    assert_true(gz.len < 1000);
    frame(&wire, 1, gz.data, gz.len);
    oca_grpc_deframer_init(&d, OCA_GRPC_ENC_GZIP, 100000);
    oca_grpc_deframer_feed(&d, (const uint8_t *)wire.data, wire.len);
    assert_int_equal(oca_grpc_deframer_next(&d, &m, &len, &why), 1);
    assert_int_equal(len, 100000);
    assert_memory_equal(m, plain, 100000);
    oca_grpc_deframer_free(&d);
    /* The same bytes against a smaller limit: a bomb stops at the limit. */
    oca_grpc_deframer_init(&d, OCA_GRPC_ENC_GZIP, 99999);
    oca_grpc_deframer_feed(&d, (const uint8_t *)wire.data, wire.len);
    assert_int_equal(oca_grpc_deframer_next(&d, &m, &len, &why), -OCA_GRPC_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(why, "after decompression"));
    oca_grpc_deframer_free(&d);
    oca_buf_free(&gz);
    oca_buf_free(&wire);
    free(plain);
}

static void test_timeout_and_percent(void **state)
{
    (void)state;
    int64_t ns;
    assert_true(oca_grpc_parse_timeout("100m", &ns));
    assert_int_equal(ns, 100 * OCA_NS_PER_MS);
    assert_true(oca_grpc_parse_timeout("5S", &ns));
    assert_int_equal(ns, 5 * OCA_NS_PER_S);
    assert_true(oca_grpc_parse_timeout("2H", &ns));
    assert_int_equal(ns, 7200 * OCA_NS_PER_S);
    assert_true(oca_grpc_parse_timeout("99999999H", &ns));
    assert_int_equal(ns, INT64_MAX);
    assert_true(oca_grpc_parse_timeout("7n", &ns));
    assert_int_equal(ns, 7);
    assert_false(oca_grpc_parse_timeout("123456789S", &ns));
    assert_false(oca_grpc_parse_timeout("S", &ns));
    assert_false(oca_grpc_parse_timeout("1x", &ns));
    assert_false(oca_grpc_parse_timeout("-1S", &ns));
    char *e = oca_grpc_percent_encode("a 100% \xc3\xa9\n");
    assert_string_equal(e, "a 100%25 %C3%A9%0A");
    free(e);
}

/* Calls over HTTP/2. */

struct echo {
    int starts, messages, half_closes, closes;
    size_t bytes;
    struct oca_buf last;
    struct oca_grpc_call *paused;
    char authz[64];
};

static void echo_start(struct oca_grpc_call *call)
{
    struct echo *e = oca_grpc_call_data(call);
    e->starts++;
    const char *a = oca_grpc_call_header(call, "authorization");
    snprintf(e->authz, sizeof(e->authz), "%s", a ? a : "");
}

static void echo_message(struct oca_grpc_call *call, const uint8_t *msg, size_t len)
{
    struct echo *e = oca_grpc_call_data(call);
    e->messages++;
    e->bytes += len;
    oca_buf_reset(&e->last);
    oca_buf_append(&e->last, msg, len);
    assert_int_equal(oca_grpc_send_message(call, msg, len), OCA_OK);
}

static void echo_half_close(struct oca_grpc_call *call)
{
    struct echo *e = oca_grpc_call_data(call);
    e->half_closes++;
    assert_int_equal(oca_grpc_finish(call, OCA_GRPC_OK, NULL, NULL, 0), OCA_OK);
}

static void echo_close(struct oca_grpc_call *call)
{
    struct echo *e = oca_grpc_call_data(call);
    e->closes++;
    if (e->paused == call)
        e->paused = NULL;
    assert_true(oca_grpc_call_done(call));
    assert_int_equal(oca_grpc_send_message(call, (const uint8_t *)"x", 1), OCA_ERR_INVALID);
}

static void pause_message(struct oca_grpc_call *call, const uint8_t *msg, size_t len)
{
    struct echo *e = oca_grpc_call_data(call);
    echo_message(call, msg, len);
    if (e->messages == 1) {
        e->paused = call;
        oca_grpc_call_pause(call);
    }
}

/* Keeps every message by taking its memory (oca_grpc_call_take_message) and answers at the
 * half-close with all of them, read from the taken blocks, so a block reused or freed by the call
 * would show in the answer (and under ASan). */
static struct { void *block[8]; const uint8_t *msg[8]; size_t len[8]; int n, untaken; } kept;

static void take_message(struct oca_grpc_call *call, const uint8_t *msg, size_t len)
{
    void *block = oca_grpc_call_take_message(call, msg);
    if (!block || kept.n == 8) {
        kept.untaken++;
        return;
    }
    assert_true((const uint8_t *)block <= msg);
    kept.block[kept.n] = block;
    kept.msg[kept.n] = msg;
    kept.len[kept.n++] = len;
}

static void take_half_close(struct oca_grpc_call *call)
{
    for (int i = 0; i < kept.n; i++) {
        assert_int_equal(oca_grpc_send_message(call, kept.msg[i], kept.len[i]), OCA_OK);
        free(kept.block[i]);
    }
    kept.n = 0;
    assert_int_equal(oca_grpc_finish(call, OCA_GRPC_OK, NULL, NULL, 0), OCA_OK);
}

static const uint8_t details[] = { 0x08, 0x0e, 0x12, 0x03, 'n', 'o', '!' };

static void fail_message(struct oca_grpc_call *call, const uint8_t *msg, size_t len)
{
    (void)msg;
    (void)len;
    struct echo *e = oca_grpc_call_data(call);
    e->messages++;
    oca_grpc_finish(call, OCA_GRPC_UNAVAILABLE, "try later: 100% \xe2\x9c\x93", details, sizeof(details));
    /* Anything after the finish is refused. */
    assert_int_equal(oca_grpc_finish(call, OCA_GRPC_OK, NULL, NULL, 0), OCA_ERR_INVALID);
}

static void err_message(struct oca_grpc_call *call, const uint8_t *msg, size_t len)
{
    (void)msg;
    (void)len;
    oca_grpc_finish_err(call, OCA_ERR_MEMORY_LIMIT);
}

static const struct oca_grpc_method methods[] = {
    { .path = "/test.Echo/Unary", .on_start = echo_start, .on_message = echo_message,
      .on_half_close = echo_half_close, .on_close = echo_close },
    { .path = "/test.Echo/Pause", .on_message = pause_message, .on_half_close = echo_half_close,
      .on_close = echo_close },
    { .path = "/test.Echo/Never", .on_message = NULL, .on_close = echo_close },
    { .path = "/test.Echo/Take", .on_message = take_message, .on_half_close = take_half_close },
    { .path = "/test.Echo/Fail", .on_message = fail_message, .on_close = echo_close },
    { .path = "/test.Echo/Err", .on_message = err_message, .on_close = echo_close },
};

struct fixture {
    struct nt_server t;
    struct echo echo;
    struct oca_grpc_router router;
    int plain;
};

/* As the OTLP receiver's handler: gRPC by content-type, plain HTTP otherwise. */
static void mixed_headers(struct oca_http_stream *s)
{
    struct fixture *f = oca_http_stream_handler_data(s);
    if (oca_grpc_is_grpc(s)) {
        oca_grpc_route_headers(&f->router, s);
        return;
    }
    f->plain++;
}

static void mixed_end(struct oca_http_stream *s, const uint8_t *body, size_t len)
{
    (void)body;
    (void)len;
    oca_http_respond(s, 200, nt_text, 1, "plain", 5);
}

static const struct oca_http_handler mixed = { .on_headers = mixed_headers, .on_end = mixed_end };

static void start(struct fixture *f, uint64_t max_msg)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->t.loop), 0);
    nt_default_config(&f->t.cfg);
    f->router = (struct oca_grpc_router){
        .methods = methods, .n_methods = sizeof(methods) / sizeof(methods[0]), .max_recv_msg_size = max_msg,
        .data = &f->echo, .who = "test",
    };
    nt_server_start(&f->t, &mixed, f);
}

static void stop(struct fixture *f)
{
    nt_server_stop(&f->t);
    oca_buf_free(&f->echo.last);
}

static int grpc_status(const struct nt_h2_stream *st)
{
    const char *p = st->trailers.data ? strstr(st->trailers.data, "grpc-status: ") : NULL;
    if (!p && st->headers.data)
        p = strstr(st->headers.data, "grpc-status: ");
    return p ? atoi(p + 13) : -1;
}

static const char *const grpc_hdrs[] = { "content-type", "application/grpc", "te", "trailers", NULL };

static struct nt_h2_stream *call(struct nt_h2 *h, const char *path, const struct oca_buf *wire, size_t step,
                                 const char *const *extra)
{
    const uint8_t *chunks[NT_H2_MAX_CHUNKS];
    size_t lens[NT_H2_MAX_CHUNKS], n = 0;
    for (size_t off = 0; wire && off < wire->len; off += step) {
        assert_true(n < NT_H2_MAX_CHUNKS);
        chunks[n] = (const uint8_t *)wire->data + off;
        lens[n++] = wire->len - off < step ? wire->len - off : step;
    }
    struct nt_h2_stream *st = nt_h2_request(h, "POST", path, chunks, lens, n, true, extra ? extra : grpc_hdrs);
    assert_true(nt_h2_wait_closed(h, st));
    return st;
}

static void test_unary_split_and_batched(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, 0);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &f.t.loop, oca_http_server_port(f.t.srv)));
    struct oca_buf wire = { 0 };
    frame(&wire, 0, "hello grpc", 10);
    /* One byte per DATA frame. */
    struct nt_h2_stream *st = call(&h, "/test.Echo/Unary", &wire, 1, NULL);
    assert_int_equal(st->status, 200);
    assert_int_equal(grpc_status(st), 0);
    assert_true(nt_has_line(&st->headers, "content-type: application/grpc\n"));
    assert_int_equal(st->body.len, 15);
    assert_memory_equal(st->body.data, wire.data, 15);
    assert_int_equal(f.echo.messages, 1);
    assert_int_equal(f.echo.half_closes, 1);
    assert_int_equal(f.echo.closes, 1);
    /* Three messages in one DATA frame: three answers. */
    oca_buf_reset(&wire);
    frame(&wire, 0, "a", 1);
    frame(&wire, 0, "bb", 2);
    frame(&wire, 0, "ccc", 3);
    st = call(&h, "/test.Echo/Unary", &wire, wire.len, NULL);
    assert_int_equal(grpc_status(st), 0);
    assert_int_equal(st->body.len, wire.len);
    assert_memory_equal(st->body.data, wire.data, wire.len);
    assert_int_equal(f.echo.messages, 4);
    /* Plain HTTP on the same listener. */
    struct nt_h2_stream *p = nt_h2_request(&h, "POST", "/v1/traces", NULL, NULL, 0, true, NULL);
    assert_true(nt_h2_wait_closed(&h, p));
    assert_string_equal(p->body.data, "plain");
    assert_int_equal(f.plain, 1);
    oca_buf_free(&wire);
    nt_h2_close(&h);
    stop(&f);
    assert_int_equal(f.echo.closes, 2);
}

static void test_gzip_message_and_metadata(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, 0);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &f.t.loop, oca_http_server_port(f.t.srv)));
    char plain[5000];
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (char)('a' + i % 7);
    struct oca_buf gz = { 0 }, wire = { 0 };
    gzip_bytes(plain, sizeof(plain), &gz);
    frame(&wire, 1, gz.data, gz.len);
    frame(&wire, 0, "raw", 3);      /* uncompressed messages may be mixed in */
    const char *hdrs[] = { "content-type", "application/grpc+proto", "grpc-encoding", "gzip",
                           "authorization", "Bearer t", NULL };
    struct nt_h2_stream *st = call(&h, "/test.Echo/Unary", &wire, 7, hdrs);
    assert_int_equal(grpc_status(st), 0);
    assert_int_equal(f.echo.messages, 2);
    assert_int_equal(f.echo.bytes, sizeof(plain) + 3);
    assert_string_equal(f.echo.authz, "Bearer t");
    assert_int_equal(st->body.len, 5 + sizeof(plain) + 5 + 3);
    assert_memory_equal(st->body.data + 5, plain, sizeof(plain));
    oca_buf_free(&gz);
    oca_buf_free(&wire);
    nt_h2_close(&h);
    stop(&f);
}

static void test_zstd_message(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, 0);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &f.t.loop, oca_http_server_port(f.t.srv)));
    char plain[5000];
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (char)('a' + i % 7);
    struct oca_buf z = { 0 }, wire = { 0 };
    zstd_bytes(plain, sizeof(plain), 0, &z);
    frame(&wire, 1, z.data, z.len);
    const char *hdrs[] = { "content-type", "application/grpc", "grpc-encoding", "zstd", NULL };
    struct nt_h2_stream *st = call(&h, "/test.Echo/Unary", &wire, 7, hdrs);
    assert_int_equal(grpc_status(st), 0);
    assert_int_equal(f.echo.messages, 1);
    assert_int_equal(st->body.len, 5 + sizeof(plain));
    assert_memory_equal(st->body.data + 5, plain, sizeof(plain));
    /* Corrupt zstd ends the call with INTERNAL, as corrupt gzip does. */
    z.data[z.len / 2] ^= 0x55;
    z.data[z.len / 2 + 1] ^= 0x55;
    z.data[1] ^= 0x55;
    oca_buf_reset(&wire);
    frame(&wire, 1, z.data, z.len);
    st = call(&h, "/test.Echo/Unary", &wire, wire.len, hdrs);
    assert_int_equal(grpc_status(st), OCA_GRPC_INTERNAL);
    assert_int_equal(f.echo.messages, 1);
    oca_buf_free(&z);
    oca_buf_free(&wire);
    nt_h2_close(&h);
    stop(&f);
}

/* Messages taken from the call (identity ones in one DATA frame, then gzip ones) keep their bytes
 * after the call has moved on to the next message. */
static void test_taken_messages_stay_intact(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, 0);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &f.t.loop, oca_http_server_port(f.t.srv)));
    struct oca_buf wire = { 0 };
    frame(&wire, 0, "first", 5);
    frame(&wire, 0, "second!", 7);
    frame(&wire, 0, "3", 1);
    memset(&kept, 0, sizeof(kept));
    struct nt_h2_stream *st = call(&h, "/test.Echo/Take", &wire, wire.len, NULL);
    assert_int_equal(grpc_status(st), 0);
    assert_int_equal(kept.untaken, 0);
    assert_int_equal(st->body.len, wire.len);
    assert_memory_equal(st->body.data, wire.data, wire.len);
    char plain[3000];
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (char)('k' + i % 5);
    struct oca_buf gz = { 0 };
    gzip_bytes(plain, sizeof(plain), &gz);
    oca_buf_reset(&wire);
    frame(&wire, 1, gz.data, gz.len);
    frame(&wire, 1, gz.data, gz.len);
    const char *hdrs[] = { "content-type", "application/grpc", "grpc-encoding", "gzip", NULL };
    st = call(&h, "/test.Echo/Take", &wire, 100, hdrs);
    assert_int_equal(grpc_status(st), 0);
    assert_int_equal(kept.untaken, 0);
    assert_int_equal(st->body.len, 2 * (5 + sizeof(plain)));
    assert_memory_equal(st->body.data + 5, plain, sizeof(plain));
    assert_memory_equal(st->body.data + 10 + sizeof(plain), plain, sizeof(plain));
    oca_buf_free(&gz);
    oca_buf_free(&wire);
    nt_h2_close(&h);
    stop(&f);
}

static void test_oversize_message(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, 100);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &f.t.loop, oca_http_server_port(f.t.srv)));
    char big[101];
    memset(big, 'x', sizeof(big));
    struct oca_buf wire = { 0 };
    frame(&wire, 0, "ok", 2);
    frame(&wire, 0, big, sizeof(big));
    struct nt_h2_stream *st = call(&h, "/test.Echo/Unary", &wire, 50, NULL);
    assert_int_equal(grpc_status(st), OCA_GRPC_RESOURCE_EXHAUSTED);
    assert_true(nt_has_line(&st->trailers, "grpc-message: grpc: received message larger than max (101 vs. 100)"));
    assert_int_equal(f.echo.messages, 1);
    assert_int_equal(f.echo.half_closes, 0);
    /* The same limit after decompression. */
    struct oca_buf gz = { 0 };
    gzip_bytes(big, sizeof(big), &gz);
    oca_buf_reset(&wire);
    frame(&wire, 1, gz.data, gz.len);
    const char *hdrs[] = { "content-type", "application/grpc", "grpc-encoding", "gzip", NULL };
    st = call(&h, "/test.Echo/Unary", &wire, wire.len, hdrs);
    assert_int_equal(grpc_status(st), OCA_GRPC_RESOURCE_EXHAUSTED);
    oca_buf_free(&gz);
    oca_buf_free(&wire);
    nt_h2_close(&h);
    stop(&f);
    assert_int_equal(f.echo.closes, 2);
}

static void test_unknown_method_and_encoding(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, 0);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &f.t.loop, oca_http_server_port(f.t.srv)));
    struct oca_buf wire = { 0 };
    frame(&wire, 0, "x", 1);
    struct nt_h2_stream *st = call(&h, "/test.Echo/Nope", &wire, wire.len, NULL);
    assert_int_equal(st->status, 200);
    assert_int_equal(grpc_status(st), OCA_GRPC_UNIMPLEMENTED);
    assert_true(nt_has_line(&st->headers, "grpc-message: unknown method Nope for service test.Echo\n"));
    assert_int_equal(st->body.len, 0);
    const char *hdrs[] = { "content-type", "application/grpc", "grpc-encoding", "snappy", NULL };
    st = call(&h, "/test.Echo/Unary", &wire, wire.len, hdrs);
    assert_int_equal(grpc_status(st), OCA_GRPC_UNIMPLEMENTED);
    assert_true(nt_has_line(&st->headers, "grpc-accept-encoding: identity,gzip,zstd\n"));
    const char *bad_timeout[] = { "content-type", "application/grpc", "grpc-timeout", "soon", NULL };
    st = call(&h, "/test.Echo/Unary", &wire, wire.len, bad_timeout);
    assert_int_equal(grpc_status(st), OCA_GRPC_INTERNAL);
    assert_int_equal(f.echo.starts, 0);
    assert_int_equal(f.echo.closes, 0);
    oca_buf_free(&wire);
    nt_h2_close(&h);
    stop(&f);
}

static void test_deadline_exceeded(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, 0);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &f.t.loop, oca_http_server_port(f.t.srv)));
    struct oca_buf wire = { 0 };
    frame(&wire, 0, "x", 1);
    const char *hdrs[] = { "content-type", "application/grpc", "grpc-timeout", "150m", NULL };
    uint64_t t0 = uv_now(&f.t.loop);
    struct nt_h2_stream *st = call(&h, "/test.Echo/Never", &wire, wire.len, hdrs);
    uint64_t took = uv_now(&f.t.loop) - t0;
    assert_int_equal(grpc_status(st), OCA_GRPC_DEADLINE_EXCEEDED);
    assert_true(took >= 140 && took < 3000);
    assert_int_equal(f.echo.closes, 1);
    oca_buf_free(&wire);
    nt_h2_close(&h);
    stop(&f);
}

static void test_status_details_and_message_encoding(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, 0);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &f.t.loop, oca_http_server_port(f.t.srv)));
    struct oca_buf wire = { 0 };
    frame(&wire, 0, "x", 1);
    frame(&wire, 0, "y", 1);
    struct nt_h2_stream *st = call(&h, "/test.Echo/Fail", &wire, wire.len, NULL);
    assert_int_equal(grpc_status(st), OCA_GRPC_UNAVAILABLE);
    assert_true(nt_has_line(&st->headers, "grpc-message: try later: 100%25 %E2%9C%93\n"));
    /* base64 of 08 0e 12 03 6e 6f 21, unpadded. */
    assert_true(nt_has_line(&st->headers, "grpc-status-details-bin: CA4SA25vIQ\n"));
    assert_int_equal(f.echo.messages, 1);     /* nothing delivered after the finish */
    st = call(&h, "/test.Echo/Err", &wire, wire.len, NULL);
    assert_int_equal(grpc_status(st), OCA_GRPC_UNAVAILABLE);
    assert_true(nt_has_line(&st->headers, "grpc-message: memory budget exhausted\n"));
    oca_buf_free(&wire);
    nt_h2_close(&h);
    stop(&f);
}

static bool got_two(void *arg)
{
    return ((struct echo *)arg)->messages >= 2;
}

static bool is_paused(void *arg)
{
    return ((struct echo *)arg)->paused != NULL;
}

static void test_streaming_pause_resume(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, 0);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &f.t.loop, oca_http_server_port(f.t.srv)));
    struct oca_buf wire = { 0 };
    for (int i = 0; i < 5; i++)
        frame(&wire, 0, "msg", 3);
    const uint8_t *chunks[] = { (const uint8_t *)wire.data };
    size_t lens[] = { wire.len };
    struct nt_h2_stream *st = nt_h2_request(&h, "POST", "/test.Echo/Pause", chunks, lens, 1, false, grpc_hdrs);
    st->hold = true;
    nt_h2_more(&h, st, NULL, 0, false);
    assert_true(oca_test_run_until(&f.t.loop, is_paused, &f.echo, NT_WAIT_MS));
    /* Paused after the first: the other four wait although they arrived. */
    oca_test_run_until(&f.t.loop, got_two, &f.echo, 200);
    assert_int_equal(f.echo.messages, 1);
    /* The first echo went out already: a stream answers before its request ends. */
    assert_int_equal(st->body.len, 8);
    oca_grpc_call_resume(f.echo.paused);
    assert_int_equal(f.echo.messages, 5);
    assert_int_equal(f.echo.half_closes, 0);
    static const uint8_t last[] = { 0, 0, 0, 0, 4, 'l', 'a', 's', 't' };
    nt_h2_more(&h, st, last, sizeof(last), true);
    assert_true(nt_h2_wait_closed(&h, st));
    assert_int_equal(grpc_status(st), 0);
    assert_int_equal(f.echo.messages, 6);
    assert_int_equal(st->body.len, 5 * 8 + 9);
    oca_buf_free(&wire);
    nt_h2_close(&h);
    stop(&f);
}

static bool one_start(void *arg)
{
    return ((struct echo *)arg)->messages == 1;
}

static bool one_close(void *arg)
{
    return ((struct echo *)arg)->closes == 1;
}

static void test_cancel_and_truncated(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, 0);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &f.t.loop, oca_http_server_port(f.t.srv)));
    struct oca_buf wire = { 0 };
    frame(&wire, 0, "one", 3);
    const uint8_t *chunks[] = { (const uint8_t *)wire.data };
    size_t lens[] = { wire.len };
    struct nt_h2_stream *st = nt_h2_request(&h, "POST", "/test.Echo/Unary", chunks, lens, 1, false, grpc_hdrs);
    st->hold = true;
    assert_true(oca_test_run_until(&f.t.loop, one_start, &f.echo, NT_WAIT_MS));
    nghttp2_submit_rst_stream(h.session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
    nt_h2_flush(&h);
    assert_true(oca_test_run_until(&f.t.loop, one_close, &f.echo, NT_WAIT_MS));
    assert_int_equal(f.echo.half_closes, 0);
    /* The request ends inside a message. */
    uint8_t cut[] = { 0, 0, 0, 0, 9, 'a', 'b' };
    oca_buf_reset(&wire);
    oca_buf_append(&wire, cut, sizeof(cut));
    struct nt_h2_stream *t2 = call(&h, "/test.Echo/Unary", &wire, wire.len, NULL);
    assert_int_equal(grpc_status(t2), OCA_GRPC_INTERNAL);
    assert_int_equal(f.echo.half_closes, 0);
    oca_buf_free(&wire);
    nt_h2_close(&h);
    stop(&f);
}

static void test_wrong_content_type_and_http1(void **state)
{
    (void)state;
    /* A listener that serves gRPC only answers other content types 415. */
    struct nt_server t;
    memset(&t, 0, sizeof(t));
    assert_int_equal(uv_loop_init(&t.loop), 0);
    nt_default_config(&t.cfg);
    struct echo e = { 0 };
    struct oca_grpc_router router = { .methods = methods, .n_methods = 1, .data = &e };
    nt_server_start(&t, &oca_grpc_handler, &router);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &t.loop, oca_http_server_port(t.srv)));
    const char *json[] = { "content-type", "application/json", NULL };
    struct nt_h2_stream *st = nt_h2_request(&h, "POST", "/test.Echo/Unary", NULL, NULL, 0, true, json);
    assert_true(nt_h2_wait_closed(&h, st));
    assert_int_equal(st->status, 415);
    const char *web[] = { "content-type", "application/grpc-web", NULL };
    st = nt_h2_request(&h, "POST", "/test.Echo/Unary", NULL, NULL, 0, true, web);
    assert_true(nt_h2_wait_closed(&h, st));
    assert_int_equal(st->status, 415);
    st = nt_h2_request(&h, "GET", "/test.Echo/Unary", NULL, NULL, 0, true, grpc_hdrs);
    assert_true(nt_h2_wait_closed(&h, st));
    assert_int_equal(st->status, 405);
    assert_true(nt_has_line(&st->headers, "allow: POST\n"));
    nt_h2_close(&h);
    /* gRPC needs HTTP/2. */
    struct nt_client c;
    assert_true(nt_connect(&c, &t.loop, oca_http_server_port(t.srv)));
    nt_sends(&c, "POST /test.Echo/Unary HTTP/1.1\r\ncontent-type: application/grpc\r\ncontent-length: 6\r\n\r\n"
                 "\0\0\0\0\1x");
    assert_true(nt_wait_for(&c, "gRPC requires HTTP/2", 1));
    assert_non_null(strstr(c.in.data, "HTTP/1.1 505 "));
    nt_close(&c);
    assert_int_equal(e.starts + e.messages + e.closes, 0);
    nt_server_stop(&t);
}

static void test_many_calls_one_connection(void **state)
{
    (void)state;
    struct fixture f;
    start(&f, 0);
    struct nt_h2 h;
    assert_true(nt_h2_connect(&h, &f.t.loop, oca_http_server_port(f.t.srv)));
    struct oca_buf wire = { 0 };
    frame(&wire, 0, "ping", 4);
    for (int i = 0; i < 12; i++) {
        struct nt_h2_stream *st = call(&h, "/test.Echo/Unary", &wire, 3, NULL);
        assert_int_equal(grpc_status(st), 0);
        assert_int_equal(st->body.len, 9);
        /* Reuse the client's stream slots. */
        oca_buf_free(&st->headers);
        oca_buf_free(&st->trailers);
        oca_buf_free(&st->body);
        h.n_streams--;
    }
    assert_int_equal(f.echo.closes, 12);
    oca_buf_free(&wire);
    nt_h2_close(&h);
    stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deframer_chunkings),
        cmocka_unit_test(test_deframer_errors),
        cmocka_unit_test(test_deframer_gzip_and_bomb),
        cmocka_unit_test(test_deframer_zstd),
        cmocka_unit_test(test_timeout_and_percent),
        cmocka_unit_test(test_unary_split_and_batched),
        cmocka_unit_test(test_gzip_message_and_metadata),
        cmocka_unit_test(test_zstd_message),
        cmocka_unit_test(test_taken_messages_stay_intact),
        cmocka_unit_test(test_oversize_message),
        cmocka_unit_test(test_unknown_method_and_encoding),
        cmocka_unit_test(test_deadline_exceeded),
        cmocka_unit_test(test_status_details_and_message_encoding),
        cmocka_unit_test(test_streaming_pause_resume),
        cmocka_unit_test(test_cancel_and_truncated),
        cmocka_unit_test(test_wrong_content_type_and_http1),
        cmocka_unit_test(test_many_calls_one_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
