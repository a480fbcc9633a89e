/* Tests of exporters/zipkin/zipkin.c on a real loop against a small HTTP server on the same loop:
 * config validation; a JSON POST with the right method, path, headers and spans, counted as sent;
 * gzip-compressed proto; a 400 counted as send_failed without a retry; a 503 with Retry-After
 * retried no sooner than asked; a batch Zipkin cannot carry fails without a request. */
#include "testutil.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/arena.h"
#include "base/errors.h"
#include "config/diag.h"
#include "pipeline/batch.h"
#include "pipeline/counters.h"
#include "zipkin/zipkin.pb-c.h"

extern const struct oca_component_type oca_zipkin_exporter;

#define MAX_REQS 8

/* One request as the server saw it. */
struct req {
    char head[2048];            /* request line and headers */
    char *body;                 /* malloc'd */
    size_t body_len;
    uint64_t at_ms;             /* uv_now when it completed */
};

/* The fake Zipkin: answers the n-th request with replies[n] (the last one repeats). */
struct server {
    uv_tcp_t tcp;
    uv_loop_t *loop;
    int port;
    const char *replies[MAX_REQS];
    size_t n_replies;
    struct req reqs[MAX_REQS];
    size_t n_reqs;
};

struct conn {
    uv_tcp_t tcp;
    struct server *srv;
    char *buf;
    size_t len, cap;
    uv_write_t wr;
    char *out;
};

static void conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    free(c->buf);
    free(c->out);
    free(c);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    struct conn *c = w->data;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct conn *c = h->data;
    if (c->cap - c->len < suggested) {
        c->cap = c->len + suggested;
        c->buf = realloc(c->buf, c->cap + 1);
    }
    *b = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

/* Records the request once it is whole and answers it. */
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    struct conn *c = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end)
        return;
    size_t head_len = (size_t)(end - c->buf) + 4, body_len = 0;
    for (char *p = c->buf; p && p < end; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL)
        if (strncasecmp(p, "content-length:", 15) == 0)
            body_len = strtoul(p + 15, NULL, 10);
    if (c->len < head_len + body_len)
        return;
    struct server *srv = c->srv;
    uv_read_stop(s);
    if (srv->n_reqs < MAX_REQS) {
        struct req *r = &srv->reqs[srv->n_reqs];
        snprintf(r->head, sizeof(r->head), "%.*s", (int)head_len, c->buf);
        r->body = malloc(body_len + 1);
        memcpy(r->body, c->buf + head_len, body_len);
        r->body[body_len] = '\0';
        r->body_len = body_len;
        r->at_ms = uv_now(srv->loop);
    }
    size_t k = srv->n_reqs < srv->n_replies ? srv->n_reqs : srv->n_replies - 1;
    srv->n_reqs++;
    size_t size = strlen(srv->replies[k]) + 128;
    c->out = malloc(size);
    snprintf(c->out, size, "%s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", srv->replies[k]);
    uv_buf_t out = uv_buf_init(c->out, (unsigned)strlen(c->out));
    c->wr.data = c;
    uv_write(&c->wr, s, &out, 1, on_written);
}

static void on_connection(uv_stream_t *l, int status)
{
    assert_int_equal(status, 0);
    struct server *srv = l->data;
    struct conn *c = calloc(1, sizeof(*c));
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(l, (uv_stream_t *)&c->tcp), 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* Binds the server's socket before the harness (and its loop) exists, because the exporter's
 * config must name the port; the socket joins the loop in server_start. */
static int server_bind(struct server *srv)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    srv->port = ntohs(sa.sin_port);
    return fd;
}

static void server_start(struct server *srv, uv_loop_t *loop, int fd)
{
    srv->loop = loop;
    uv_tcp_init(loop, &srv->tcp);
    srv->tcp.data = srv;
    assert_int_equal(uv_tcp_open(&srv->tcp, fd), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&srv->tcp, 16, on_connection), 0);
}

static void server_free(struct server *srv)
{
    uv_close((uv_handle_t *)&srv->tcp, NULL);
    for (size_t i = 0; i < srv->n_reqs && i < MAX_REQS; i++)
        free(srv->reqs[i].body);
}

static const char *header_of(const struct req *r, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            while (*v == ' ')
                v++;
            size_t l = strcspn(v, "\r\n");
            snprintf(out, size, "%.*s", (int)l, v);
            return out;
        }
    }
    return NULL;
}

/* A span with ids, or without a trace id when arg says "broken". */
static ProtobufCMessage *make_span(struct oca_arena *a, size_t k, const void *arg)
{
    Opentelemetry__Proto__Trace__V1__Span *sp = oca_arena_zalloc(a, sizeof(*sp));
    opentelemetry__proto__trace__v1__span__init(sp);
    sp->name = oca_arena_printf(a, "Span-%zu", k);
    uint8_t tid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    uint8_t sid[8] = { 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x10, (uint8_t)(k + 1) };
    if (!arg || strcmp(arg, "broken") != 0)
        sp->trace_id = (ProtobufCBinaryData){ 16, oca_arena_memdup(a, tid, 16) };
    sp->span_id = (ProtobufCBinaryData){ 8, oca_arena_memdup(a, sid, 8) };
    sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    sp->start_time_unix_nano = 1700000000000000000ull;
    sp->end_time_unix_nano = 1700000000000000000ull + 2000;
    return &sp->base;
}

struct fixture {
    struct oca_test_harness h;
    struct server srv;
};

static void setup_exporter(struct fixture *f, const char *extra, const char *r0, const char *r1)
{
    memset(f, 0, sizeof(*f));
    f->srv.replies[0] = r0;
    f->srv.replies[1] = r1;
    f->srv.n_replies = r1 ? 2 : 1;
    int fd = server_bind(&f->srv);
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "endpoint: http://127.0.0.1:%d/api/v2/spans\n"
             "default_service_name: dflt\n"
             "retry_on_failure: {initial_interval: 10ms, max_interval: 20ms}\n%s",
             f->srv.port, extra);
    oca_test_harness_init(&f->h, &oca_zipkin_exporter, "zipkin", yaml, "exporters.zipkin");
    server_start(&f->srv, &f->h.loop, fd);
}

static void teardown_exporter(struct fixture *f)
{
    oca_test_harness_shutdown(&f->h);
    server_free(&f->srv);
    oca_test_harness_free(&f->h);
}

struct until {
    struct fixture *f;
    enum oca_edge edge;
    uint64_t items;
};

static bool counted(void *arg)
{
    struct until *u = arg;
    return u->f->h.counters.items[u->edge][OCA_SIGNAL_TRACES] >= u->items;
}

static void run_until_counted(struct fixture *f, enum oca_edge edge, uint64_t items)
{
    struct until u = { f, edge, items };
    if (!oca_test_run_until(&f->h.loop, counted, &u, 20000))
        fail_msg("edge %d never reached %llu items", (int)edge, (unsigned long long)items);
}

static void test_validate(void **state)
{
    struct oca_test_fixture *fx = *state;
    void *cfg;
    const struct oca_component_type *t = &oca_zipkin_exporter;
    oca_test_expect_invalid(t, "exporters.zipkin", "{}", "endpoint must be set");
    oca_test_expect_invalid(t, "exporters.zipkin", "endpoint: ftp://x/spans", "not an http:// or https:// URL");
    /* The push exporter's header check: names are tokens, values carry no CR/LF. */
    oca_test_expect_invalid(t, "exporters.zipkin", "endpoint: http://x/spans\nheaders: {\"a b\": x, y: \"1\\r\\nz: 2\"}",
                            "exporters.zipkin.headers: \"a b\" is not a valid header name");
    oca_test_expect_invalid(t, "exporters.zipkin", "endpoint: http://x/spans\nheaders: {y: \"1\\r\\nz: 2\"}",
                            "exporters.zipkin.headers: the value of y may not contain control");
    assert_int_not_equal(oca_test_decode_config(fx->arena, t, "endpoint: http://x/\nformat: thrift", "exporters.zipkin",
                                                &fx->diag, &cfg), 0);
    assert_non_null(strstr(fx->diag.text.data, "proto"));
}

static void test_json_post(void **state)
{
    (void)state;
    struct fixture f;
    setup_exporter(&f, "headers: {x-api-key: secret}\n", "HTTP/1.1 202 Accepted", NULL);
    assert_int_equal(oca_zipkin_exporter.start(&f.h.comp, &f.h.loop), OCA_OK);
    assert_int_equal(oca_test_consume(&f.h, oca_test_make_batch(OCA_SIGNAL_TRACES, "Svc", 2, make_span, NULL)), OCA_OK);
    run_until_counted(&f, OCA_EDGE_SENT, 2);
    assert_int_equal(f.srv.n_reqs, 1);
    const struct req *r = &f.srv.reqs[0];
    char v[256];
    assert_true(strncmp(r->head, "POST /api/v2/spans HTTP/1.1\r\n", 29) == 0);
    assert_string_equal(header_of(r, "content-type", v, sizeof(v)), "application/json");
    assert_string_equal(header_of(r, "x-api-key", v, sizeof(v)), "secret");
    assert_null(header_of(r, "content-encoding", v, sizeof(v)));
    struct json_object *arr = json_tokener_parse(r->body);
    assert_non_null(arr);
    assert_int_equal(json_object_array_length(arr), 2);
    struct json_object *s = json_object_array_get_idx(arr, 1), *x;
    assert_true(json_object_object_get_ex(s, "name", &x));
    assert_string_equal(json_object_get_string(x), "span-1");
    assert_true(json_object_object_get_ex(s, "id", &x));
    assert_string_equal(json_object_get_string(x), "0a0b0c0d0e0f1002");
    assert_true(json_object_object_get_ex(s, "localEndpoint", &x));
    assert_true(json_object_object_get_ex(x, "serviceName", &x));
    assert_string_equal(json_object_get_string(x), "svc");
    json_object_put(arr);
    assert_int_equal(f.h.counters.items[OCA_EDGE_SEND_FAILED][OCA_SIGNAL_TRACES], 0);
    teardown_exporter(&f);
}

static void test_gzip_proto(void **state)
{
    (void)state;
    struct fixture f;
    setup_exporter(&f, "format: proto\ncompression: gzip\n", "HTTP/1.1 200 OK", NULL);
    assert_int_equal(oca_zipkin_exporter.start(&f.h.comp, &f.h.loop), OCA_OK);
    assert_int_equal(oca_test_consume(&f.h, oca_test_make_batch(OCA_SIGNAL_TRACES, NULL, 3, make_span, NULL)), OCA_OK);
    run_until_counted(&f, OCA_EDGE_SENT, 3);
    const struct req *r = &f.srv.reqs[0];
    char v[256];
    assert_string_equal(header_of(r, "content-type", v, sizeof(v)), "application/x-protobuf");
    assert_string_equal(header_of(r, "content-encoding", v, sizeof(v)), "gzip");
    uint8_t plain[65536];
    z_stream zs = { 0 };
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)r->body;
    zs.avail_in = (uInt)r->body_len;
    zs.next_out = plain;
    zs.avail_out = sizeof(plain);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = zs.total_out;
    inflateEnd(&zs);
    Zipkin__Proto3__ListOfSpans *list = zipkin__proto3__list_of_spans__unpack(NULL, n, plain);
    assert_non_null(list);
    assert_int_equal(list->n_spans, 3);
    assert_string_equal(list->spans[2]->name, "Span-2");
    assert_string_equal(list->spans[2]->local_endpoint->service_name, "dflt");
    assert_int_equal(list->spans[2]->duration, 2);
    zipkin__proto3__list_of_spans__free_unpacked(list, NULL);
    teardown_exporter(&f);
}

static void test_rejected_400(void **state)
{
    (void)state;
    struct fixture f;
    setup_exporter(&f, "", "HTTP/1.1 400 Bad Request", NULL);
    assert_int_equal(oca_zipkin_exporter.start(&f.h.comp, &f.h.loop), OCA_OK);
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(oca_test_consume(&f.h, oca_test_make_batch(OCA_SIGNAL_TRACES, "s", 4, make_span, NULL)), OCA_OK);
    run_until_counted(&f, OCA_EDGE_SEND_FAILED, 4);
    free(oca_test_capture_end(&cap));
    assert_int_equal(f.srv.n_reqs, 1);
    assert_int_equal(f.h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_TRACES], 0);
    teardown_exporter(&f);
}

static void test_retry_after(void **state)
{
    (void)state;
    struct fixture f;
    setup_exporter(&f, "", "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1", "HTTP/1.1 202 Accepted");
    assert_int_equal(oca_zipkin_exporter.start(&f.h.comp, &f.h.loop), OCA_OK);
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(oca_test_consume(&f.h, oca_test_make_batch(OCA_SIGNAL_TRACES, "s", 1, make_span, NULL)), OCA_OK);
    run_until_counted(&f, OCA_EDGE_SENT, 1);
    free(oca_test_capture_end(&cap));
    assert_int_equal(f.srv.n_reqs, 2);
    /* The retry waited for the second asked, not the 10ms initial_interval (a little slack for the
     * loop's clock, which is cached). */
    assert_true(f.srv.reqs[1].at_ms - f.srv.reqs[0].at_ms >= 990);
    teardown_exporter(&f);
}

static void test_untranslatable(void **state)
{
    (void)state;
    struct fixture f;
    setup_exporter(&f, "", "HTTP/1.1 202 Accepted", NULL);
    assert_int_equal(oca_zipkin_exporter.start(&f.h.comp, &f.h.loop), OCA_OK);
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(oca_test_consume(&f.h, oca_test_make_batch(OCA_SIGNAL_TRACES, "s", 2, make_span, "broken")), OCA_OK);
    run_until_counted(&f, OCA_EDGE_SEND_FAILED, 2);
    char *log = oca_test_capture_end(&cap);
    assert_non_null(strstr(log, "TraceID is invalid"));
    free(log);
    assert_int_equal(f.srv.n_reqs, 0);
    teardown_exporter(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OCA_TEST_WITH_FIXTURE(test_validate),
        cmocka_unit_test(test_json_post),
        cmocka_unit_test(test_gzip_proto),
        cmocka_unit_test(test_rejected_400),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_untranslatable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
