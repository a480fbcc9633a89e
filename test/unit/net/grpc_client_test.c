/* Tests net/grpc_client.c: unary calls against the project's own gRPC server layer (net/grpc.c on
 * net/http_server.c, h2c and h2 over TLS on 127.0.0.1:0, same loop): a message both ways,
 * metadata, gzip requests arriving decompressed, error statuses in trailers and trailers-only, percent-decoded messages,
 * RetryInfo, timeouts, non-gRPC answers mapped from the HTTP status, close with calls in flight;
 * and oca_grpc_read_response on hand-made responses (gzip answers, truncation, malformed fields). */
#include "netutil.h"

#include <openssl/evp.h>
#include <zlib.h>

#include "codec/gzip.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "net/grpc.h"
#include "net/grpc_client.h"

#define SVC "/test.Svc/"

struct seen {
    int messages, starts;
    char encoding[32];
    char timeout[32];
    char md[64];
    char content_type[64];
    char te[32];
    struct oca_buf last;
};

static struct seen seen;

static void record_start(struct oca_grpc_call *call)
{
    const char *e = oca_grpc_call_header(call, "grpc-encoding");
    const char *t = oca_grpc_call_header(call, "grpc-timeout");
    const char *m = oca_grpc_call_header(call, "x-md");
    const char *ct = oca_grpc_call_header(call, "content-type");
    const char *te = oca_grpc_call_header(call, "te");
    seen.starts++;
    snprintf(seen.encoding, sizeof(seen.encoding), "%s", e ? e : "");
    snprintf(seen.timeout, sizeof(seen.timeout), "%s", t ? t : "");
    snprintf(seen.md, sizeof(seen.md), "%s", m ? m : "");
    snprintf(seen.content_type, sizeof(seen.content_type), "%s", ct ? ct : "");
    snprintf(seen.te, sizeof(seen.te), "%s", te ? te : "");
}

static void echo_message(struct oca_grpc_call *call, const uint8_t *msg, size_t len)
{
    seen.messages++;
    oca_buf_reset(&seen.last);
    oca_buf_append(&seen.last, msg, len);
    struct oca_buf out = { 0 };
    oca_buf_puts(&out, "echo:");
    oca_buf_append(&out, msg, len);
    oca_grpc_send_message(call, (const uint8_t *)out.data, out.len);
    oca_grpc_finish(call, OCA_GRPC_OK, NULL, NULL, 0);
    oca_buf_free(&out);
}

static const char fail_text[] = "quota exceeded: 100% used \xe2\x80\x94 retry later";

/* A google.rpc.Status with a RetryInfo of 2.5 s among other details. */
static size_t retry_status(uint8_t *out)
{
    Google__Protobuf__Duration d;
    google__protobuf__duration__init(&d);
    d.seconds = 2;
    d.nanos = 500000000;
    Google__Rpc__RetryInfo ri;
    google__rpc__retry_info__init(&ri);
    ri.retry_delay = &d;
    uint8_t ri_wire[64];
    Google__Protobuf__Any other, any;
    google__protobuf__any__init(&other);
    google__protobuf__any__init(&any);
    other.type_url = (char *)(uintptr_t)"type.googleapis.com/google.rpc.DebugInfo";
    other.value.data = (uint8_t *)(uintptr_t)"\x12\x03" "abc";
    other.value.len = 5;
    any.type_url = (char *)(uintptr_t)"type.googleapis.com/google.rpc.RetryInfo";
    any.value.data = ri_wire;
    any.value.len = google__rpc__retry_info__pack(&ri, ri_wire);
    Google__Protobuf__Any *details[] = { &other, &any };
    Google__Rpc__Status st;
    google__rpc__status__init(&st);
    st.code = OCA_GRPC_RESOURCE_EXHAUSTED;
    st.message = (char *)(uintptr_t)"busy";
    st.n_details = 2;
    st.details = details;
    return google__rpc__status__pack(&st, out);
}

/* Headers and a message, then an error status in the trailers. */
static void fail_message(struct oca_grpc_call *call, const uint8_t *msg, size_t len)
{
    (void)msg;
    (void)len;
    seen.messages++;
    uint8_t details[256];
    size_t n = retry_status(details);
    oca_grpc_send_headers(call, NULL, 0);
    oca_grpc_send_message(call, (const uint8_t *)"partial", 7);
    oca_grpc_finish(call, OCA_GRPC_RESOURCE_EXHAUSTED, fail_text, details, n);
}

/* Trailers-only: answered from on_start, before any message. */
static void early_start(struct oca_grpc_call *call)
{
    record_start(call);
    oca_grpc_finish(call, OCA_GRPC_UNAVAILABLE, "try later", NULL, 0);
}

static const struct oca_grpc_method methods[] = {
    { .path = SVC "Echo", .on_start = record_start, .on_message = echo_message },
    { .path = SVC "Fail", .on_start = record_start, .on_message = fail_message },
    { .path = SVC "Early", .on_start = early_start },
    { .path = SVC "Slow", .on_start = record_start },
};

static struct oca_grpc_router router = { .methods = methods, .n_methods = 4, .who = "test grpc" };

/* A server that is not gRPC: /status/NNN answers NNN with a text body. */
static void plain_on_headers(struct oca_http_stream *s)
{
    int status = atoi(oca_http_stream_path(s) + 8);
    oca_http_respond(s, status ? status : 200, nt_text, 1, "not grpc\n", 9);
}

static const struct oca_http_handler plain_handler = { .on_headers = plain_on_headers };

struct env {
    struct nt_server t;
    struct oca_http_client *c;
    bool closed;
    char base[64];
};

static char dir[64], ca[96], cert[96], key[96];

/* A plain (h2c) server, or a TLS one whose CA the client trusts. */
static void env_start_with(struct env *e, bool grpc, bool tls)
{
    memset(e, 0, sizeof(*e));
    oca_buf_free(&seen.last);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(uv_loop_init(&e->t.loop), 0);
    nt_default_config(&e->t.cfg);
    struct oca_tls_client_config tc = { .ca_file = ca, .min_version = OCA_TLS_1_2 };
    if (tls) {
        e->t.cfg.tls.cert_file = cert;
        e->t.cfg.tls.key_file = key;
    }
    nt_server_start(&e->t, grpc ? &oca_grpc_handler : &plain_handler, grpc ? (void *)&router : (void *)e);
    e->c = oca_http_client_new(&e->t.loop, tls ? &tc : NULL, "test client");
    assert_non_null(e->c);
    snprintf(e->base, sizeof(e->base), "%s://127.0.0.1:%u/", tls ? "https" : "http", oca_http_server_port(e->t.srv));
}

static void env_start(struct env *e, bool grpc)
{
    env_start_with(e, grpc, false);
}

static void env_stop(struct env *e)
{
    if (e->c)
        nt_client_close(&e->t.loop, e->c);
    nt_server_stop(&e->t);
    oca_buf_free(&seen.last);
}

/* A copy of a result that outlives the callback. */
struct got {
    int calls;
    struct oca_grpc_result res;
    char detail[256];
    char message[256];
    struct oca_buf msg;
    bool has_msg;
};

static void on_result(void *arg, const struct oca_grpc_result *res)
{
    struct got *g = arg;
    g->calls++;
    g->res = *res;
    snprintf(g->detail, sizeof(g->detail), "%s", res->detail ? res->detail : "");
    snprintf(g->message, sizeof(g->message), "%s", res->grpc_message);
    oca_buf_reset(&g->msg);
    g->has_msg = res->msg != NULL;
    if (res->msg)
        oca_buf_append(&g->msg, res->msg, res->msg_len);
    g->res.detail = g->res.grpc_message = NULL;
    g->res.msg = NULL;
}

static bool got_called(void *arg)
{
    return ((struct got *)arg)->calls > 0;
}

static void call(struct env *e, struct got *g, const char *method, const char *msg, bool gzip, int64_t timeout_ns,
                 const struct oca_http_header *md, size_t n_md)
{
    g->calls = 0;
    char *copy = oca_xstrdup(msg);
    assert_int_equal(oca_grpc_unary(e->c, e->base, method, md, n_md, (const uint8_t *)copy, strlen(copy), gzip,
                                    timeout_ns, on_result, g),
                     OCA_OK);
    /* The message was copied: the caller may free it at once. */
    memset(copy, 'x', strlen(copy));
    free(copy);
    assert_int_equal(g->calls, 0);
    assert_true(oca_test_run_until(&e->t.loop, got_called, g, 10000));
    assert_int_equal(g->calls, 1);
}

/* A message of ~70 KB that compresses well. */
static void make_big(struct oca_buf *big)
{
    for (int i = 0; i < 2000; i++)
        oca_buf_printf(big, "span %d of a compressible request; ", i);
}

static void test_ok_with_message(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, true);
    struct got g = { 0 };
    static const struct oca_http_header md[] = { { "x-md", 4, "tenant-1", 8 } };
    call(&e, &g, SVC "Echo", "hello", false, 5 * OCA_NS_PER_S, md, 1);
    assert_int_equal(g.res.err, OCA_OK);
    assert_int_equal(g.res.http_status, 200);
    assert_int_equal(g.res.grpc_status, OCA_GRPC_OK);
    assert_string_equal(g.message, "");
    assert_int_equal(g.res.retry_delay_ns, -1);
    assert_true(g.has_msg);
    assert_int_equal(g.msg.len, 10);
    assert_memory_equal(g.msg.data, "echo:hello", 10);
    assert_int_equal(seen.messages, 1);
    assert_string_equal(seen.last.data, "hello");
    assert_string_equal(seen.md, "tenant-1");
    assert_string_equal(seen.content_type, "application/grpc");
    assert_string_equal(seen.te, "trailers");
    assert_string_equal(seen.timeout, "5000000u");
    assert_string_equal(seen.encoding, "");
    /* An empty message goes out framed too. */
    call(&e, &g, SVC "Echo", "", false, 0, NULL, 0);
    assert_int_equal(g.res.grpc_status, OCA_GRPC_OK);
    assert_int_equal(g.msg.len, 5);
    assert_string_equal(seen.timeout, "");
    oca_buf_free(&g.msg);
    env_stop(&e);
}

/* h2 by ALPN: several calls, one connection. */
static void test_tls(void **state)
{
    (void)state;
    oca_test_make_dir(dir, sizeof(dir), "ocagent-grpc-client");
    assert_true(nt_make_cert(dir, "server", "localhost", "DNS:localhost,IP:127.0.0.1"));
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    struct env e;
    env_start_with(&e, true, true);
    struct got g = { 0 };
    for (int i = 0; i < 3; i++) {
        call(&e, &g, SVC "Echo", "over tls", i == 1, OCA_NS_PER_S * 5, NULL, 0);
        assert_int_equal(g.res.err, OCA_OK);
        assert_int_equal(g.res.grpc_status, OCA_GRPC_OK);
        assert_int_equal(g.msg.len, 13);
        assert_memory_equal(g.msg.data, "echo:over tls", 13);
    }
    assert_int_equal(seen.messages, 3);
    struct oca_http_server_stats st;
    oca_http_server_get_stats(e.t.srv, &st);
    assert_int_equal(st.accepted, 1);
    oca_buf_free(&g.msg);
    env_stop(&e);
    oca_test_remove_dir(dir);
}

static void test_gzip_request(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, true);
    struct got g = { 0 };
    struct oca_buf big = { 0 };
    make_big(&big);
    call(&e, &g, SVC "Echo", big.data, true, 0, NULL, 0);
    assert_int_equal(g.res.err, OCA_OK);
    assert_int_equal(g.res.grpc_status, OCA_GRPC_OK);
    assert_string_equal(seen.encoding, "gzip");
    assert_int_equal(seen.last.len, big.len);
    assert_memory_equal(seen.last.data, big.data, big.len);
    assert_int_equal(g.msg.len, big.len + 5);
    oca_buf_free(&big);
    oca_buf_free(&g.msg);
    env_stop(&e);
}

/* A message the caller compressed (as the exporters do on the thread pool) goes out as given, with
 * grpc-encoding: gzip, and the server reads the original. */
static void test_gzipped_request(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, true);
    struct got g = { 0 };
    struct oca_buf big = { 0 }, zipped = { 0 };
    make_big(&big);
    assert_true(oca_gzip((const uint8_t *)big.data, big.len, 1, &zipped));
    assert_int_equal(oca_grpc_unary(e.c, e.base, SVC "Echo", NULL, 0, (const uint8_t *)zipped.data, zipped.len,
                                    OCA_GRPC_GZIPPED, 0, on_result, &g),
                     OCA_OK);
    assert_true(oca_test_run_until(&e.t.loop, got_called, &g, 10000));
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.res.err, OCA_OK);
    assert_int_equal(g.res.grpc_status, OCA_GRPC_OK);
    assert_string_equal(seen.encoding, "gzip");
    assert_int_equal(seen.last.len, big.len);
    assert_memory_equal(seen.last.data, big.data, big.len);
    oca_buf_free(&big);
    oca_buf_free(&zipped);
    oca_buf_free(&g.msg);
    env_stop(&e);
}

/* oca_grpc_unary_pieces sends the caller's pieces as one message without joining them first: the
 * server reads the message, plain or gzipped (then with grpc-encoding: gzip), whatever the pieces'
 * sizes (an empty one, one byte, the rest). A call the closing client refuses leaves them to the
 * caller at once. */
static void test_pieces_request(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, true);
    struct got g = { 0 };
    struct oca_buf big = { 0 };
    make_big(&big);
    for (int gz = 0; gz < 2; gz++) {
        struct oca_buf msg = { 0 };
        if (gz)
            assert_true(oca_gzip((const uint8_t *)big.data, big.len, 1, &msg));
        else
            oca_buf_append(&msg, big.data, big.len);
        const uint8_t *m = (const uint8_t *)msg.data;
        struct oca_slice pieces[] = { { m, 0 }, { m, 1 }, { m + 1, msg.len / 3 }, { m + 1 + msg.len / 3, 0 },
                                      { m + 1 + msg.len / 3, msg.len - 1 - msg.len / 3 } };
        g.calls = 0;
        assert_int_equal(oca_grpc_unary_pieces(e.c, e.base, SVC "Echo", NULL, 0, pieces, 5, gz ? "gzip" : NULL, 0, on_result,
                                               &g),
                         OCA_OK);
        assert_true(oca_test_run_until(&e.t.loop, got_called, &g, 10000));
        assert_int_equal(g.calls, 1);
        assert_int_equal(g.res.grpc_status, OCA_GRPC_OK);
        assert_string_equal(seen.encoding, gz ? "gzip" : "");
        assert_int_equal(seen.last.len, big.len);
        assert_memory_equal(seen.last.data, big.data, big.len);
        oca_buf_free(&msg);
    }
    /* No pieces: an empty message. */
    g.calls = 0;
    assert_int_equal(oca_grpc_unary_pieces(e.c, e.base, SVC "Echo", NULL, 0, NULL, 0, NULL, 0, on_result, &g),
                     OCA_OK);
    assert_true(oca_test_run_until(&e.t.loop, got_called, &g, 10000));
    assert_int_equal(g.res.grpc_status, OCA_GRPC_OK);
    assert_int_equal(seen.last.len, 0);
    oca_http_client_close(e.c, nt_set_flag, &e.closed);
    assert_int_equal(oca_grpc_unary_pieces(e.c, e.base, SVC "Echo", NULL, 0, NULL, 0, NULL, 0, on_result, &g),
                     OCA_ERR_SHUTTING_DOWN);
    assert_true(oca_test_run_until(&e.t.loop, nt_flag_set, &e.closed, NT_WAIT_MS));
    e.c = NULL;
    oca_buf_free(&big);
    oca_buf_free(&g.msg);
    env_stop(&e);
}

static void test_error_in_trailers(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, true);
    struct got g = { 0 };
    call(&e, &g, SVC "Fail", "x", false, 0, NULL, 0);
    assert_int_equal(g.res.err, OCA_OK);
    assert_int_equal(g.res.http_status, 200);
    assert_int_equal(g.res.grpc_status, OCA_GRPC_RESOURCE_EXHAUSTED);
    /* Percent-encoded by the server (the '%' and the UTF-8 dash), decoded here. */
    assert_string_equal(g.message, fail_text);
    assert_int_equal(g.res.retry_delay_ns, 2500 * OCA_NS_PER_MS);
    /* No message for an error status, even though one was sent. */
    assert_false(g.has_msg);
    oca_buf_free(&g.msg);
    env_stop(&e);
}

static void test_trailers_only(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, true);
    struct got g = { 0 };
    call(&e, &g, SVC "Early", "x", false, 0, NULL, 0);
    assert_int_equal(g.res.err, OCA_OK);
    assert_int_equal(g.res.grpc_status, OCA_GRPC_UNAVAILABLE);
    assert_string_equal(g.message, "try later");
    assert_int_equal(g.res.retry_delay_ns, -1);
    /* The server's own answer to an unknown method. */
    call(&e, &g, SVC "Nope", "x", false, 0, NULL, 0);
    assert_int_equal(g.res.err, OCA_OK);
    assert_int_equal(g.res.grpc_status, OCA_GRPC_UNIMPLEMENTED);
    assert_string_equal(g.message, "unknown method Nope for service test.Svc");
    oca_buf_free(&g.msg);
    env_stop(&e);
}

static void test_timeout(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, true);
    struct got g = { 0 };
    call(&e, &g, SVC "Slow", "x", false, 150 * OCA_NS_PER_MS, NULL, 0);
    assert_string_equal(seen.timeout, "150000u");
    /* The server's deadline and the client's fire together: either way it reads as a deadline. */
    assert_true(g.res.err == OCA_ERR_TIMEOUT || (g.res.err == OCA_OK && g.res.http_status == 200));
    assert_int_equal(g.res.grpc_status, OCA_GRPC_DEADLINE_EXCEEDED);
    oca_buf_free(&g.msg);
    env_stop(&e);
}

static void test_not_grpc(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, false);
    static const struct { int http, grpc; } map[] = {
        { 400, OCA_GRPC_INTERNAL }, { 401, OCA_GRPC_UNAUTHENTICATED }, { 403, OCA_GRPC_PERMISSION_DENIED },
        { 404, OCA_GRPC_UNIMPLEMENTED }, { 429, OCA_GRPC_UNAVAILABLE }, { 502, OCA_GRPC_UNAVAILABLE },
        { 503, OCA_GRPC_UNAVAILABLE }, { 504, OCA_GRPC_UNAVAILABLE }, { 500, OCA_GRPC_UNKNOWN },
        { 200, OCA_GRPC_UNKNOWN },
    };
    struct got g = { 0 };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        char path[32];
        snprintf(path, sizeof(path), "/status/%d", map[i].http);
        call(&e, &g, path, "x", false, 0, NULL, 0);
        assert_int_equal(g.res.err, OCA_ERR_UNAVAILABLE);
        assert_int_equal(g.res.http_status, map[i].http);
        assert_int_equal(g.res.grpc_status, map[i].grpc);
        assert_non_null(strstr(g.detail, "text/plain"));
        assert_false(g.has_msg);
    }
    oca_buf_free(&g.msg);
    env_stop(&e);
}

static bool started(void *arg)
{
    (void)arg;
    return seen.starts > 0;
}

static void test_unavailable_and_close(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, true);
    struct got g = { 0 }, slow = { 0 };
    /* Nobody listens on port 1. */
    snprintf(e.base, sizeof(e.base), "http://127.0.0.1:1");
    call(&e, &g, SVC "Echo", "x", false, OCA_NS_PER_S, NULL, 0);
    assert_int_equal(g.res.err, OCA_ERR_UNAVAILABLE);
    assert_int_equal(g.res.grpc_status, OCA_GRPC_UNAVAILABLE);
    assert_int_equal(g.res.http_status, 0);
    assert_true(g.detail[0] != '\0');
    /* A call in flight when the client closes. */
    snprintf(e.base, sizeof(e.base), "http://127.0.0.1:%u", oca_http_server_port(e.t.srv));
    assert_int_equal(oca_grpc_unary(e.c, e.base, SVC "Slow", NULL, 0, (const uint8_t *)"x", 1, false, 0, on_result,
                                    &slow),
                     OCA_OK);
    assert_true(oca_test_run_until(&e.t.loop, started, NULL, NT_WAIT_MS));
    oca_http_client_close(e.c, nt_set_flag, &e.closed);
    assert_int_equal(slow.calls, 1);
    assert_int_equal(slow.res.err, OCA_ERR_SHUTTING_DOWN);
    assert_int_equal(slow.res.grpc_status, OCA_GRPC_UNAVAILABLE);
    assert_int_equal(oca_grpc_unary(e.c, e.base, SVC "Echo", NULL, 0, NULL, 0, false, 0, on_result, &g),
                     OCA_ERR_SHUTTING_DOWN);
    assert_true(oca_test_run_until(&e.t.loop, nt_flag_set, &e.closed, NT_WAIT_MS));
    e.c = NULL;
    oca_buf_free(&g.msg);
    oca_buf_free(&slow.msg);
    env_stop(&e);
}

/* oca_grpc_read_response on responses made by hand. */

static void read_resp(const struct oca_http_header *h, size_t n, const void *body, size_t len,
                      struct oca_grpc_result *res, void **scratch)
{
    struct oca_http_response r = { .err = OCA_OK, .status = 200, .headers = h, .n_headers = n, .body = body,
                                   .body_len = len };
    oca_grpc_read_response(&r, res, scratch);
}

static void test_read_gzip_response(void **state)
{
    (void)state;
    const char text[] = "a gzipped response message";
    uint8_t framed[256];
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)text;
    z.avail_in = sizeof(text) - 1;
    z.next_out = framed + 5;
    z.avail_out = sizeof(framed) - 5;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = z.total_out;
    deflateEnd(&z);
    framed[0] = 1;
    framed[1] = framed[2] = framed[3] = 0;
    framed[4] = (uint8_t)n;
    static const struct oca_http_header h[] = {
        { "content-type", 12, "application/grpc", 16 }, { "grpc-encoding", 13, "gzip", 4 },
        { "grpc-status", 11, "0", 1 } };
    struct oca_grpc_result res;
    void *scratch;
    read_resp(h, 3, framed, 5 + n, &res, &scratch);
    assert_int_equal(res.err, OCA_OK);
    assert_int_equal(res.grpc_status, 0);
    assert_int_equal(res.msg_len, sizeof(text) - 1);
    assert_memory_equal(res.msg, text, sizeof(text) - 1);
    free(scratch);
    /* Compressed flag without grpc-encoding, then a truncated message: INTERNAL. */
    read_resp(h + 2, 1, framed, 5 + n, &res, &scratch);
    assert_int_equal(res.err, OCA_OK);
    assert_int_equal(res.grpc_status, OCA_GRPC_INTERNAL);
    assert_null(res.msg);
    assert_non_null(strstr(res.grpc_message, "compressed flag"));
    free(scratch);
    read_resp(h, 3, framed, 5 + n - 1, &res, &scratch);
    assert_int_equal(res.grpc_status, OCA_GRPC_INTERNAL);
    assert_non_null(strstr(res.grpc_message, "ended inside a message"));
    free(scratch);
    /* A corrupt gzip body (its CRC). */
    framed[5 + n - 6] ^= 0xff;
    read_resp(h, 3, framed, 5 + n, &res, &scratch);
    assert_int_equal(res.grpc_status, OCA_GRPC_INTERNAL);
    free(scratch);
}

static void test_read_fields(void **state)
{
    (void)state;
    uint8_t details[256];
    size_t dn = retry_status(details);
    char b64[512];
    int k = EVP_EncodeBlock((unsigned char *)b64, details, (int)dn);
    struct oca_grpc_result res;
    void *scratch;
    /* Padded and unpadded base64 alike; grpc-message with broken escapes kept as they are. */
    for (int pad = 0; pad < 2; pad++) {
        int len = k;
        while (!pad && len > 0 && b64[len - 1] == '=')
            len--;
        struct oca_http_header h[] = {
            { "grpc-status", 11, "8", 1 }, { "grpc-message", 12, "50%25 %zz %4", 12 },
            { "grpc-status-details-bin", 23, b64, (size_t)len } };
        read_resp(h, 3, NULL, 0, &res, &scratch);
        assert_int_equal(res.err, OCA_OK);
        assert_int_equal(res.grpc_status, 8);
        assert_string_equal(res.grpc_message, "50% %zz %4");
        assert_int_equal(res.retry_delay_ns, 2500 * OCA_NS_PER_MS);
        free(scratch);
    }
    /* Details that are not base64, or not a Status: no delay, the status still counts. */
    static const struct oca_http_header bad[] = { { "grpc-status", 11, "14", 2 },
                                                  { "grpc-status-details-bin", 23, "!!!", 3 } };
    read_resp(bad, 2, NULL, 0, &res, &scratch);
    assert_int_equal(res.grpc_status, 14);
    assert_int_equal(res.retry_delay_ns, -1);
    free(scratch);
    static const struct oca_http_header junk[] = { { "grpc-status", 11, "14", 2 },
                                                   { "grpc-status-details-bin", 23, "/////w", 6 } };
    read_resp(junk, 2, NULL, 0, &res, &scratch);
    assert_int_equal(res.retry_delay_ns, -1);
    free(scratch);
    /* A malformed grpc-status. */
    static const struct oca_http_header mal[] = { { "grpc-status", 11, "1x", 2 } };
    read_resp(mal, 1, NULL, 0, &res, &scratch);
    assert_int_equal(res.err, OCA_OK);
    assert_int_equal(res.grpc_status, OCA_GRPC_INTERNAL);
    assert_non_null(strstr(res.grpc_message, "malformed grpc-status"));
    free(scratch);
    /* The trailer wins over a grpc-status in the headers. */
    static const struct oca_http_header two[] = { { "grpc-status", 11, "0", 1 }, { "grpc-status", 11, "7", 1 } };
    read_resp(two, 2, NULL, 0, &res, &scratch);
    assert_int_equal(res.grpc_status, 7);
    free(scratch);
    /* A transport error passes through. */
    struct oca_http_response r = { .err = OCA_ERR_TIMEOUT, .detail = "Operation timed out" };
    oca_grpc_read_response(&r, &res, &scratch);
    assert_int_equal(res.err, OCA_ERR_TIMEOUT);
    assert_int_equal(res.grpc_status, OCA_GRPC_DEADLINE_EXCEEDED);
    assert_string_equal(res.detail, "Operation timed out");
    assert_string_equal(res.grpc_message, "");
    free(scratch);
}

static void test_percent_and_base64(void **state)
{
    (void)state;
    char out[64];
    size_t n = oca_grpc_percent_decode("a%20b%e2%80%94%", 15, out);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "a b\xe2\x80\x94%", 7);
    char *enc = oca_grpc_percent_encode(fail_text);
    n = oca_grpc_percent_decode(enc, strlen(enc), out);
    out[n] = '\0';
    assert_string_equal(out, fail_text);
    free(enc);
    uint8_t bin[16];
    assert_int_equal(oca_grpc_base64_decode("aGk", 3, bin), 2);
    assert_memory_equal(bin, "hi", 2);
    assert_int_equal(oca_grpc_base64_decode("aGk=", 4, bin), 2);
    assert_int_equal(oca_grpc_base64_decode("aGVsbG8h", 8, bin), 6);
    assert_memory_equal(bin, "hello!", 6);
    assert_int_equal(oca_grpc_base64_decode("", 0, bin), 0);
    assert_int_equal(oca_grpc_base64_decode("a", 1, bin), -1);
    assert_int_equal(oca_grpc_base64_decode("a b=", 4, bin), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_with_message),
        cmocka_unit_test(test_gzip_request),
        cmocka_unit_test(test_gzipped_request),
        cmocka_unit_test(test_pieces_request),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_error_in_trailers),
        cmocka_unit_test(test_trailers_only),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_not_grpc),
        cmocka_unit_test(test_unavailable_and_close),
        cmocka_unit_test(test_read_gzip_response),
        cmocka_unit_test(test_read_fields),
        cmocka_unit_test(test_percent_and_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
