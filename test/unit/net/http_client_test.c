/* Tests net/http_client.c against the project's own server (net/http_server.h) on 127.0.0.1:0 on
 * the same loop: round trips over HTTP/1.1 and h2c, trailers, connection reuse and multiplexing,
 * timeouts, refused connections, close with requests in flight, the response size cap, TLS (h2 by
 * ALPN and HTTP/1.1; CA file, skip-verify, server_name_override, mutual TLS) with certificates the
 * openssl CLI makes at test time, and the tls section's validation rules. */
#include "netutil.h"

#include "net/curl_lazy.h"
#include <unistd.h>

#include "base/arena.h"
#include "config/decode.h"
#include "config/yaml_tree.h"
#include "net/http_client.h"

static char dir[64];
static char ca[96], cert[96], key[96], named_cert[96], named_key[96], ccert[96], ckey[96];

static int make_certs(void **state)
{
    (void)state;
    oca_test_make_dir(dir, sizeof(dir), "ocagent-client-tls");
    if (!nt_make_cert(dir, "server", "localhost", "DNS:localhost,IP:127.0.0.1") ||
        !nt_make_cert(dir, "named", "ocagent.test", "DNS:ocagent.test") || !nt_make_cert(dir, "client", "client", NULL))
        return -1;
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    snprintf(named_cert, sizeof(named_cert), "%s/named.pem", dir);
    snprintf(named_key, sizeof(named_key), "%s/named.key", dir);
    snprintf(ccert, sizeof(ccert), "%s/client.pem", dir);
    snprintf(ckey, sizeof(ckey), "%s/client.key", dir);
    return 0;
}

static int remove_certs(void **state)
{
    (void)state;
    oca_test_remove_dir(dir);
    return 0;
}

/* The server side: /big answers more than the client reads; /headers echoes request headers in
 * response headers; every other path goes to netutil's recording handler. */
static void test_on_headers(struct oca_http_stream *s)
{
    const char *p = oca_http_stream_path(s);
    if (strcmp(p, "/big") == 0) {
        size_t n = OCA_HTTP_CLIENT_MAX_RESPONSE + 1;
        char *body = oca_xcalloc(1, n);
        oca_http_respond(s, 200, nt_text, 1, body, n);
        free(body);
        return;
    }
    if (strcmp(p, "/headers") == 0) {
        const char *req = oca_http_stream_header(s, "x-req");
        const char *ct = oca_http_stream_header(s, "content-type");
        const char *empty = oca_http_stream_header(s, "x-empty");
        struct oca_http_header h[] = {
            { "X-Echo", 6, req ? req : "", req ? strlen(req) : 0 },
            { "X-Content-Type", 14, ct ? ct : "none", ct ? strlen(ct) : 4 },
            { "X-Empty", 7, empty ? "present" : "absent", empty ? 7 : 6 },
        };
        oca_http_respond(s, 201, h, 3, "ok", 2);
        return;
    }
    nt_on_headers(s);
}

static const struct oca_http_handler test_handler = {
    .on_headers = test_on_headers, .on_body = nt_on_body, .on_end = nt_on_end, .on_close = nt_on_close,
};

struct result {
    int calls;
    int err;
    int status;
    char detail[512];
    struct oca_buf body;
    struct oca_buf headers;     /* "name: value\n" */
};

static void on_done(void *arg, const struct oca_http_response *r)
{
    struct result *res = arg;
    res->calls++;
    res->err = r->err;
    res->status = r->status;
    snprintf(res->detail, sizeof(res->detail), "%s", r->detail ? r->detail : "");
    oca_buf_reset(&res->body);
    oca_buf_reset(&res->headers);
    if (r->err != OCA_OK)
        return;
    oca_buf_append(&res->body, r->body, r->body_len);
    for (size_t i = 0; i < r->n_headers; i++)
        oca_buf_printf(&res->headers, "%.*s: %.*s\n", (int)r->headers[i].name_len, r->headers[i].name,
                       (int)r->headers[i].value_len, r->headers[i].value);
}

static void result_free(struct result *r)
{
    oca_buf_free(&r->body);
    oca_buf_free(&r->headers);
}

static bool called(void *arg)
{
    return ((struct result *)arg)->calls > 0;
}

struct env {
    struct nt_server t;
    struct oca_http_client *c;
    bool closed;
    char base[64];
};

static void env_start(struct env *e, const struct oca_tls_client_config *tls, const char *scheme)
{
    memset(e, 0, sizeof(*e));
    assert_int_equal(uv_loop_init(&e->t.loop), 0);
    nt_default_config(&e->t.cfg);
    nt_server_start(&e->t, &test_handler, NULL);
    e->c = oca_http_client_new(&e->t.loop, tls, "test client");
    assert_non_null(e->c);
    snprintf(e->base, sizeof(e->base), "%s://127.0.0.1:%u", scheme, oca_http_server_port(e->t.srv));
}

/* As env_start with a TLS server (cert/key) configured first. */
static void env_start_tls(struct env *e, const struct oca_tls_client_config *tls, const char *server_cert,
                          const char *server_key, const char *client_ca)
{
    memset(e, 0, sizeof(*e));
    assert_int_equal(uv_loop_init(&e->t.loop), 0);
    nt_default_config(&e->t.cfg);
    e->t.cfg.tls.cert_file = (char *)(uintptr_t)server_cert;
    e->t.cfg.tls.key_file = (char *)(uintptr_t)server_key;
    e->t.cfg.tls.client_ca_file = (char *)(uintptr_t)client_ca;
    nt_server_start(&e->t, &test_handler, NULL);
    e->c = oca_http_client_new(&e->t.loop, tls, "test client");
    assert_non_null(e->c);
    snprintf(e->base, sizeof(e->base), "https://127.0.0.1:%u", oca_http_server_port(e->t.srv));
}

static void env_stop(struct env *e)
{
    if (e->c)
        nt_client_close(&e->t.loop, e->c);
    nt_server_stop(&e->t);
}

/* One request, run until done; returns the result's err. */
static int request(struct env *e, struct result *r, enum oca_http_version v, const char *path,
                   const struct oca_http_header *h, size_t nh, const void *body, size_t len, int64_t timeout_ns)
{
    char url[128];
    snprintf(url, sizeof(url), "%s%s", e->base, path);
    struct oca_http_request req = {
        .method = "POST", .url = url, .version = v, .headers = h, .n_headers = nh, .body = body,
        .body_len = len, .timeout_ns = timeout_ns,
    };
    r->calls = 0;
    assert_int_equal(oca_http_client_send(e->c, &req, on_done, r), OCA_OK);
    /* done never runs inside send. */
    assert_int_equal(r->calls, 0);
    assert_int_equal(oca_http_client_in_flight(e->c), 1);
    assert_true(oca_test_run_until(&e->t.loop, called, r, 10000));
    assert_int_equal(r->calls, 1);
    assert_int_equal(oca_http_client_in_flight(e->c), 0);
    return r->err;
}

static void round_trip(enum oca_http_version v)
{
    struct env e;
    env_start(&e, NULL, "http");
    struct result r = { 0 };
    size_t n = 60 * 1024;
    uint8_t *body = oca_xmalloc(n);
    for (size_t i = 0; i < n; i++)
        body[i] = (uint8_t)(i * 7);
    static const struct oca_http_header h[] = { { "Content-Type", 12, "application/x-protobuf", 22 } };
    assert_int_equal(request(&e, &r, v, "/v1/traces", h, 1, body, n, 5 * OCA_NS_PER_S), OCA_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "POST /v1/traces 61440 bytes");
    assert_true(nt_has_line(&r.headers, "content-type: text/plain\n"));
    assert_int_equal(e.t.last_version, v == OCA_HTTP_VERSION_2 ? 2 : 1);
    assert_int_equal(e.t.last_body.len, n);
    assert_memory_equal(e.t.last_body.data, body, n);
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%u", oca_http_server_port(e.t.srv));
    assert_string_equal(e.t.last_host, host);

    /* The same body in pieces, an empty one among them: sent as one body, with its length. */
    struct oca_slice pieces[] = { { body, 1000 }, { body + 1000, 0 }, { body + 1000, 1 }, { body + 1001, n - 1001 } };
    char url[128];
    snprintf(url, sizeof(url), "%s/v1/traces", e.base);
    struct oca_http_request preq = { .method = "POST", .url = url, .version = v, .headers = h, .n_headers = 1,
                                     .pieces = pieces, .n_pieces = 4 };
    r.calls = 0;
    assert_int_equal(oca_http_client_send(e.c, &preq, on_done, &r), OCA_OK);
    assert_true(oca_test_run_until(&e.t.loop, called, &r, 10000));
    assert_int_equal(r.err, OCA_OK);
    assert_string_equal(r.body.data, "POST /v1/traces 61440 bytes");
    assert_int_equal(e.t.last_body.len, n);
    assert_memory_equal(e.t.last_body.data, body, n);

    /* Request headers as given, an empty one, no content type invented by curl. */
    static const struct oca_http_header h2[] = { { "X-Req", 5, "hello world", 11 }, { "X-Empty", 7, "", 0 } };
    assert_int_equal(request(&e, &r, v, "/headers", h2, 2, "x", 1, 0), OCA_OK);
    assert_int_equal(r.status, 201);
    assert_true(nt_has_line(&r.headers, "x-echo: hello world\n"));
    assert_true(nt_has_line(&r.headers, "x-content-type: none\n"));
    assert_true(nt_has_line(&r.headers, "x-empty: present\n"));

    /* Trailers come after the headers (HTTP/2 trailers, HTTP/1.1 chunked trailers). */
    assert_int_equal(request(&e, &r, v, "/pieces", NULL, 0, NULL, 0, 0), OCA_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "first,second");
    assert_true(nt_has_line(&r.headers, "content-type: text/plain\nx-trailer: yes\n") ||
                nt_has_line(&r.headers, "x-trailer: yes\n"));

    /* A status without a body. */
    assert_int_equal(request(&e, &r, v, "/early", NULL, 0, "abc", 3, 0), OCA_OK);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.body.data, "no\n");
    free(body);
    result_free(&r);
    env_stop(&e);
}

static void test_round_trip_http1(void **state)
{
    (void)state;
    round_trip(OCA_HTTP_VERSION_1_1);
}

static void test_round_trip_h2c(void **state)
{
    (void)state;
    round_trip(OCA_HTTP_VERSION_2);
}

static void test_response_header_lookup(void **state)
{
    (void)state;
    static const struct oca_http_header h[] = {
        { "grpc-status", 11, "0", 1 }, { "x", 1, "a", 1 }, { "grpc-status", 11, "14", 2 } };
    struct oca_http_response r = { .headers = h, .n_headers = 3 };
    assert_ptr_equal(oca_http_response_header(&r, "grpc-status"), &h[2]);
    assert_ptr_equal(oca_http_response_header(&r, "X"), &h[1]);
    assert_null(oca_http_response_header(&r, "grpc"));
}

/* Sequential requests, each sent from the previous one's done: one connection carries them all. */
struct chain {
    struct env *e;
    enum oca_http_version v;
    int left, ok;
    char url[128];
};

static void chain_send(struct chain *ch);

static void chain_done(void *arg, const struct oca_http_response *r)
{
    struct chain *ch = arg;
    if (r->err == OCA_OK && r->status == 200)
        ch->ok++;
    else
        fprintf(stderr, "request %d: %d %s (status %d)\n", ch->left, r->err, r->detail ? r->detail : "",
                r->status);
    if (--ch->left > 0)
        chain_send(ch);
}

static void chain_send(struct chain *ch)
{
    struct oca_http_request req = { .method = "POST", .url = ch->url, .version = ch->v, .body = (const uint8_t *)"abc",
                                    .body_len = 3 };
    assert_int_equal(oca_http_client_send(ch->e->c, &req, chain_done, ch), OCA_OK);
}

static bool chain_over(void *arg)
{
    return ((struct chain *)arg)->left == 0;
}

/* libcurl before 8.0.0 cannot reuse h2c connections (see http_client.c): one per request there. */
static bool h2c_reuse(void)
{
    return oca_curl_load(NULL) == OCA_OK && oca_curl.version_info(CURLVERSION_NOW)->version_num >= 0x080000;
}

static void reuse(enum oca_http_version v, bool tls)
{
    struct env e;
    struct oca_tls_client_config tc = { .ca_file = ca, .min_version = OCA_TLS_1_2 };
    if (tls)
        env_start_tls(&e, &tc, cert, key, NULL);
    else
        env_start(&e, NULL, "http");
    struct chain ch = { .e = &e, .v = v, .left = 50 };
    snprintf(ch.url, sizeof(ch.url), "%s/seq", e.base);
    chain_send(&ch);
    assert_true(oca_test_run_until(&e.t.loop, chain_over, &ch, 10000));
    assert_int_equal(ch.ok, 50);
    struct oca_http_server_stats st;
    oca_http_server_get_stats(e.t.srv, &st);
    assert_int_equal(st.accepted, v == OCA_HTTP_VERSION_2 && !tls && !h2c_reuse() ? 50 : 1);
    assert_int_equal(e.t.ends, 50);
    assert_int_equal(e.t.last_version, v == OCA_HTTP_VERSION_2 ? 2 : 1);
    env_stop(&e);
}

static void test_reuse_http1(void **state)
{
    (void)state;
    reuse(OCA_HTTP_VERSION_1_1, false);
}

static void test_reuse_h2c(void **state)
{
    (void)state;
    reuse(OCA_HTTP_VERSION_2, false);
}

static void test_reuse_tls(void **state)
{
    (void)state;
    reuse(OCA_HTTP_VERSION_2, true);
    reuse(OCA_HTTP_VERSION_1_1, true);
}

struct many {
    int done, ok;
    char bodies[16][64];
};

struct one {
    struct many *m;
    int i;
};

static void many_done(void *arg, const struct oca_http_response *r)
{
    struct one *o = arg;
    o->m->done++;
    if (r->err == OCA_OK && r->status == 200)
        o->m->ok++;
    snprintf(o->m->bodies[o->i], sizeof(o->m->bodies[o->i]), "%.*s", (int)r->body_len,
             r->body ? (const char *)r->body : "");
}

static bool many_over(void *arg)
{
    return ((struct many *)arg)->done == 16;
}

/* Concurrent requests: all answered, each with its own response; over h2c they share one
 * connection (PIPEWAIT makes the later ones wait for the first connection's ALPN/preface). */
static void concurrent(enum oca_http_version v)
{
    struct env e;
    env_start(&e, NULL, "http");
    struct many m = { 0 };
    struct one ones[16];
    char urls[16][128];
    for (int i = 0; i < 16; i++) {
        ones[i] = (struct one){ &m, i };
        snprintf(urls[i], sizeof(urls[i]), "%s/c%d", e.base, i);
        struct oca_http_request req = { .method = "POST", .url = urls[i], .version = v,
                                        .body = (const uint8_t *)"abcd", .body_len = (size_t)(i % 4) };
        assert_int_equal(oca_http_client_send(e.c, &req, many_done, &ones[i]), OCA_OK);
    }
    assert_int_equal(oca_http_client_in_flight(e.c), 16);
    assert_true(oca_test_run_until(&e.t.loop, many_over, &m, 10000));
    assert_int_equal(m.ok, 16);
    for (int i = 0; i < 16; i++) {
        char want[64];
        snprintf(want, sizeof(want), "POST /c%d %d bytes", i, i % 4);
        assert_string_equal(m.bodies[i], want);
    }
    struct oca_http_server_stats st;
    oca_http_server_get_stats(e.t.srv, &st);
    if (v == OCA_HTTP_VERSION_2 && h2c_reuse())
        assert_int_equal(st.accepted, 1);
    else
        assert_true(st.accepted >= 1 && st.accepted <= 16);
    env_stop(&e);
}

static void test_concurrent_h2c(void **state)
{
    (void)state;
    concurrent(OCA_HTTP_VERSION_2);
}

static void test_concurrent_http1(void **state)
{
    (void)state;
    concurrent(OCA_HTTP_VERSION_1_1);
}

static void test_timeout(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, "http");
    struct result r = { 0 };
    uint64_t t0 = uv_hrtime();
    assert_int_equal(request(&e, &r, OCA_HTTP_VERSION_2, "/noanswer", NULL, 0, "x", 1, 200 * OCA_NS_PER_MS),
                     OCA_ERR_TIMEOUT);
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    assert_true(ms >= 190 && ms < 3000);
    assert_non_null(strstr(r.detail, "imed out"));
    /* Over HTTP/1.1 too; the client stays usable afterwards. */
    assert_int_equal(request(&e, &r, OCA_HTTP_VERSION_1_1, "/noanswer", NULL, 0, "x", 1, 100 * OCA_NS_PER_MS),
                     OCA_ERR_TIMEOUT);
    assert_int_equal(request(&e, &r, OCA_HTTP_VERSION_1_1, "/after", NULL, 0, NULL, 0, OCA_NS_PER_S), OCA_OK);
    assert_int_equal(r.status, 200);
    result_free(&r);
    env_stop(&e);
}

/* A port nobody listens on: bound, then closed again. */
static uint16_t closed_port(uv_loop_t *loop)
{
    uv_tcp_t tcp;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(loop, &tcp);
    assert_int_equal(uv_tcp_bind(&tcp, (const struct sockaddr *)&a, 0), 0);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    uv_tcp_getsockname(&tcp, (struct sockaddr *)&ss, &len);
    uv_close((uv_handle_t *)&tcp, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void test_refused(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, "http");
    snprintf(e.base, sizeof(e.base), "http://127.0.0.1:%u", closed_port(&e.t.loop));
    struct result r = { 0 };
    assert_int_equal(request(&e, &r, OCA_HTTP_VERSION_2, "/x", NULL, 0, "x", 1, OCA_NS_PER_S), OCA_ERR_UNAVAILABLE);
    assert_non_null(strstr(r.detail, "onnect"));
    /* A URL curl cannot use fails the same way, from the loop. */
    snprintf(e.base, sizeof(e.base), "ftp://127.0.0.1:1");
    assert_int_equal(request(&e, &r, OCA_HTTP_VERSION_1_1, "/x", NULL, 0, NULL, 0, 0), OCA_ERR_UNAVAILABLE);
    assert_true(r.detail[0] != '\0');
    result_free(&r);
    env_stop(&e);
}

struct cancel {
    int calls, shutting;
    struct oca_http_client *c;
    int resend;
};

static void cancel_done(void *arg, const struct oca_http_response *r)
{
    struct cancel *k = arg;
    k->calls++;
    if (r->err == OCA_ERR_SHUTTING_DOWN)
        k->shutting++;
    /* A send from inside a cancelled done is refused. */
    struct oca_http_request req = { .method = "POST", .url = "http://127.0.0.1:1/" };
    k->resend = oca_http_client_send(k->c, &req, cancel_done, k);
}

static bool server_has_three(void *arg)
{
    return ((struct nt_server *)arg)->ends >= 3;
}

static void test_close_in_flight(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        struct env e;
        env_start(&e, NULL, "http");
        struct cancel k = { .c = e.c };
        char url[128];
        snprintf(url, sizeof(url), "%s/noanswer", e.base);
        for (int i = 0; i < 3; i++) {
            struct oca_http_request req = { .method = "POST", .url = url, .version = (enum oca_http_version)v,
                                            .body = (const uint8_t *)"x", .body_len = 1 };
            assert_int_equal(oca_http_client_send(e.c, &req, cancel_done, &k), OCA_OK);
        }
        assert_true(oca_test_run_until(&e.t.loop, server_has_three, &e.t, NT_WAIT_MS));
        oca_http_client_close(e.c, nt_set_flag, &e.closed);
        /* Every done ran before close returned. */
        assert_int_equal(k.calls, 3);
        assert_int_equal(k.shutting, 3);
        assert_int_equal(k.resend, OCA_ERR_SHUTTING_DOWN);
        assert_true(oca_test_run_until(&e.t.loop, nt_flag_set, &e.closed, NT_WAIT_MS));
        e.c = NULL;
        env_stop(&e);
    }
}

/* A client closed right after a send: the request is cancelled, nothing leaks. */
static void test_close_right_after_send(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, "http");
    struct cancel k = { .c = e.c };
    char url[128];
    snprintf(url, sizeof(url), "%s/x", e.base);
    struct oca_http_request req = { .method = "POST", .url = url, .version = OCA_HTTP_VERSION_2 };
    assert_int_equal(oca_http_client_send(e.c, &req, cancel_done, &k), OCA_OK);
    struct oca_http_request bad = { .method = "POST", .url = "gopher://x/" };
    assert_int_equal(oca_http_client_send(e.c, &bad, cancel_done, &k), OCA_OK);
    oca_http_client_close(e.c, NULL, NULL);
    assert_int_equal(k.shutting, 2);
    e.c = NULL;
    env_stop(&e);
}

static void close_from_done(void *arg, const struct oca_http_response *r)
{
    struct env *e = arg;
    assert_int_equal(r->err, OCA_OK);
    oca_http_client_close(e->c, nt_set_flag, &e->closed);
}

static void test_close_inside_done(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, "http");
    char url[128];
    snprintf(url, sizeof(url), "%s/x", e.base);
    struct oca_http_request req = { .method = "POST", .url = url, .version = OCA_HTTP_VERSION_2 };
    assert_int_equal(oca_http_client_send(e.c, &req, close_from_done, &e), OCA_OK);
    assert_true(oca_test_run_until(&e.t.loop, nt_flag_set, &e.closed, NT_WAIT_MS));
    e.c = NULL;
    env_stop(&e);
}

static void test_too_large(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, NULL, "http");
    struct result r = { 0 };
    for (int v = 0; v < 2; v++) {
        assert_int_equal(request(&e, &r, (enum oca_http_version)v, "/big", NULL, 0, NULL, 0, 5 * OCA_NS_PER_S),
                         OCA_ERR_UNAVAILABLE);
        assert_non_null(strstr(r.detail, "response body larger than"));
    }
    result_free(&r);
    env_stop(&e);
}

/* The proxy environment variables are honoured: with http_proxy pointing at the test server, a
 * request for another host reaches it in absolute form (and a CONNECT for HTTP/2). */
static void test_proxy_env(void **state)
{
    (void)state;
    static const char *const vars[] = { "http_proxy", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY" };
    char *saved[5];
    for (int i = 0; i < 5; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v ? oca_xstrdup(v) : NULL;
        unsetenv(vars[i]);
    }
    struct env e;
    env_start(&e, NULL, "http");
    char proxy[64];
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", oca_http_server_port(e.t.srv));
    setenv("http_proxy", proxy, 1);
    snprintf(e.base, sizeof(e.base), "http://ocagent-proxied.invalid:9");
    struct result r = { 0 };
    assert_int_equal(request(&e, &r, OCA_HTTP_VERSION_1_1, "/x", NULL, 0, "y", 1, 5 * OCA_NS_PER_S), OCA_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "POST http://ocagent-proxied.invalid:9/x 1 bytes");
    /* HTTP/2 asks the proxy for a tunnel, which this server does not offer. */
    assert_int_equal(request(&e, &r, OCA_HTTP_VERSION_2, "/x", NULL, 0, "y", 1, 5 * OCA_NS_PER_S),
                     OCA_ERR_UNAVAILABLE);
    assert_non_null(strstr(r.detail, "CONNECT"));
    /* no_proxy exempts a host: a closed port reached through the proxy answers, directly it refuses. */
    snprintf(e.base, sizeof(e.base), "http://127.0.0.1:%u", closed_port(&e.t.loop));
    assert_int_equal(request(&e, &r, OCA_HTTP_VERSION_1_1, "/x", NULL, 0, "y", 1, 5 * OCA_NS_PER_S), OCA_OK);
    assert_int_equal(r.status, 200);
    setenv("no_proxy", "127.0.0.1", 1);
    assert_int_equal(request(&e, &r, OCA_HTTP_VERSION_1_1, "/x", NULL, 0, "y", 1, 5 * OCA_NS_PER_S),
                     OCA_ERR_UNAVAILABLE);
    assert_non_null(strstr(r.detail, "onnect"));
    for (int i = 0; i < 5; i++) {
        if (saved[i])
            setenv(vars[i], saved[i], 1);
        else
            unsetenv(vars[i]);
        free(saved[i]);
    }
    result_free(&r);
    env_stop(&e);
}

/* TLS. */

static void tls_expect(const struct oca_tls_client_config *tls, enum oca_http_version v, int want_err,
                       const char *detail_has, const char *server_cert, const char *server_key,
                       const char *client_ca)
{
    struct env e;
    env_start_tls(&e, tls, server_cert ? server_cert : cert, server_key ? server_key : key, client_ca);
    struct result r = { 0 };
    int err = request(&e, &r, v, "/tls", NULL, 0, "abc", 3, 5 * OCA_NS_PER_S);
    if (err != want_err)
        fprintf(stderr, "unexpected %d: %s\n", err, r.detail);
    assert_int_equal(err, want_err);
    if (want_err == OCA_OK) {
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body.data, "POST /tls 3 bytes");
        assert_int_equal(e.t.last_version, v == OCA_HTTP_VERSION_2 ? 2 : 1);
    } else if (detail_has && !strstr(r.detail, detail_has)) {
        fail_msg("detail \"%s\" lacks \"%s\"", r.detail, detail_has);
    }
    result_free(&r);
    env_stop(&e);
}

static void test_tls_ca_file(void **state)
{
    (void)state;
    struct oca_tls_client_config tls = { .ca_file = ca, .min_version = OCA_TLS_1_2 };
    tls_expect(&tls, OCA_HTTP_VERSION_2, OCA_OK, NULL, NULL, NULL, NULL);
    tls_expect(&tls, OCA_HTTP_VERSION_1_1, OCA_OK, NULL, NULL, NULL, NULL);
    tls.min_version = OCA_TLS_1_3;
    tls_expect(&tls, OCA_HTTP_VERSION_2, OCA_OK, NULL, NULL, NULL, NULL);
}

static void test_tls_unknown_ca(void **state)
{
    (void)state;
    /* The system's CAs do not know the test CA. */
    tls_expect(NULL, OCA_HTTP_VERSION_2, OCA_ERR_UNAVAILABLE, "certificate", NULL, NULL, NULL);
    struct oca_tls_client_config tls = { .min_version = OCA_TLS_1_2 };
    tls_expect(&tls, OCA_HTTP_VERSION_1_1, OCA_ERR_UNAVAILABLE, "certificate", NULL, NULL, NULL);
}

static void test_tls_skip_verify(void **state)
{
    (void)state;
    struct oca_tls_client_config tls = { .insecure_skip_verify = true, .min_version = OCA_TLS_1_2 };
    tls_expect(&tls, OCA_HTTP_VERSION_2, OCA_OK, NULL, NULL, NULL, NULL);
    tls_expect(&tls, OCA_HTTP_VERSION_1_1, OCA_OK, NULL, NULL, NULL, NULL);
}

static void test_tls_server_name_override(void **state)
{
    (void)state;
    /* named.pem is valid for ocagent.test only: reached as 127.0.0.1 it fails ... */
    struct oca_tls_client_config tls = { .ca_file = ca, .min_version = OCA_TLS_1_2 };
    tls_expect(&tls, OCA_HTTP_VERSION_2, OCA_ERR_UNAVAILABLE, "127.0.0.1", named_cert, named_key, NULL);
    /* ... and with the override it verifies, while the connection still goes to 127.0.0.1. */
    tls.server_name_override = "ocagent.test";
    tls_expect(&tls, OCA_HTTP_VERSION_2, OCA_OK, NULL, named_cert, named_key, NULL);
    tls_expect(&tls, OCA_HTTP_VERSION_1_1, OCA_OK, NULL, named_cert, named_key, NULL);
    /* A name the certificate does not carry fails. */
    tls.server_name_override = "localhost";
    tls_expect(&tls, OCA_HTTP_VERSION_2, OCA_ERR_UNAVAILABLE, "localhost", named_cert, named_key, NULL);
}

static void test_tls_mutual(void **state)
{
    (void)state;
    struct oca_tls_client_config tls = { .ca_file = ca, .min_version = OCA_TLS_1_2 };
    tls_expect(&tls, OCA_HTTP_VERSION_2, OCA_ERR_UNAVAILABLE, NULL, NULL, NULL, ca);
    tls.cert_file = ccert;
    tls.key_file = ckey;
    tls_expect(&tls, OCA_HTTP_VERSION_2, OCA_OK, NULL, NULL, NULL, ca);
}

/* The tls section: keys, defaults and validation. */

struct wrap {
    struct oca_tls_client_config tls;
};

static struct wrap wcfg;
#define tcfg wcfg.tls

static const struct oca_field wrap_fields[] = {
    OCA_FIELD_OPT_SECTION(struct wrap, tls, struct oca_tls_client_config, oca_tls_client_fields, tls.present,
                          "tls"),
    OCA_FIELD_END,
};

static int decode_tls(struct oca_test_fixture *f, const char *yaml)
{
    memset(&wcfg, 0, sizeof(wcfg));
    oca_diag_free(&f->diag);
    oca_diag_init(&f->diag);
    const struct oca_ynode *node = NULL;
    if (yaml) {
        node = oca_yaml_parse(f->arena, "t.yaml", yaml, strlen(yaml), &f->diag);
        assert_non_null(node);
    }
    int n = oca_config_decode(f->arena, wrap_fields, &wcfg, node, "exporters.otlp", &f->diag);
    if (n == 0 && oca_tls_client_config_validate(&tcfg, "tls", &f->diag) != OCA_OK)
        n = f->diag.errors;
    return n;
}

static void test_tls_config(void **state)
{
    struct oca_test_fixture *f = *state;
    assert_int_equal(decode_tls(f, NULL), 0);
    assert_false(tcfg.present);
    assert_false(tcfg.insecure);
    assert_false(tcfg.insecure_skip_verify);
    assert_null(tcfg.ca_file);
    assert_int_equal(tcfg.min_version, OCA_TLS_1_2);

    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "tls:\n  insecure: true\n  insecure_skip_verify: true\n  ca_file: %s\n  cert_file: %s\n"
             "  key_file: %s\n  server_name_override: ocagent.test\n  min_version: \"1.3\"\n",
             ca, ccert, ckey);
    assert_int_equal(decode_tls(f, yaml), 0);
    assert_true(tcfg.present);
    assert_true(tcfg.insecure);
    assert_true(tcfg.insecure_skip_verify);
    assert_string_equal(tcfg.ca_file, ca);
    assert_string_equal(tcfg.server_name_override, "ocagent.test");
    assert_int_equal(tcfg.min_version, OCA_TLS_1_3);

    /* cert_file and key_file go together. */
    snprintf(yaml, sizeof(yaml), "tls:\n  cert_file: %s\n", ccert);
    assert_true(decode_tls(f, yaml) > 0);
    assert_non_null(strstr(f->diag.text.data, "tls.key_file"));
    snprintf(yaml, sizeof(yaml), "tls:\n  key_file: %s\n", ckey);
    assert_true(decode_tls(f, yaml) > 0);
    assert_non_null(strstr(f->diag.text.data, "tls.cert_file"));
    /* Files must be readable. */
    assert_true(decode_tls(f, "tls:\n  ca_file: /nonexistent/ca.pem\n") > 0);
    assert_non_null(strstr(f->diag.text.data, "tls.ca_file"));
    assert_non_null(strstr(f->diag.text.data, "/nonexistent/ca.pem"));
    assert_true(decode_tls(f, "tls:\n  server_name_override: \"\"\n") > 0);
    assert_non_null(strstr(f->diag.text.data, "server_name_override"));
    assert_true(decode_tls(f, "tls:\n  min_version: \"1.4\"\n") > 0);
    assert_true(decode_tls(f, "tls:\n  verify: false\n") > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_http1),
        cmocka_unit_test(test_round_trip_h2c),
        cmocka_unit_test(test_response_header_lookup),
        cmocka_unit_test(test_reuse_http1),
        cmocka_unit_test(test_reuse_h2c),
        cmocka_unit_test(test_reuse_tls),
        cmocka_unit_test(test_concurrent_h2c),
        cmocka_unit_test(test_concurrent_http1),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_close_in_flight),
        cmocka_unit_test(test_close_right_after_send),
        cmocka_unit_test(test_close_inside_done),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_proxy_env),
        cmocka_unit_test(test_tls_ca_file),
        cmocka_unit_test(test_tls_unknown_ca),
        cmocka_unit_test(test_tls_skip_verify),
        cmocka_unit_test(test_tls_server_name_override),
        cmocka_unit_test(test_tls_mutual),
        OCA_TEST_WITH_FIXTURE(test_tls_config),
    };
    return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
