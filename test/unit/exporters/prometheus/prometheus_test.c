/* Tests of exporters/prometheus/prometheus.c: metrics consumed are served on GET /metrics (plain and
 * gzip), other paths and methods are refused, counts reach the counters, series expire on the timer
 * without a scrape, OpenMetrics (with exemplars) only when enabled and asked for, concurrent scrapes
 * of a large store are all answered (also when a client leaves early), and shutdown waits for a
 * scrape rendering on the thread pool. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/arena.h"
#include "base/errors.h"
#include "config/diag.h"
#include "exporters/prometheus/state.h"
#include "pipeline/batch.h"
#include "rawhttp.h"

extern const struct oca_component_type oca_prometheus_exporter;

static const char request_json[] =
    "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"shop\"}}]},"
    "\"scopeMetrics\":[{\"metrics\":[{\"name\":\"http.requests\",\"sum\":{\"aggregationTemporality\":2,"
    "\"isMonotonic\":true,\"dataPoints\":[{\"timeUnixNano\":\"5\",\"asInt\":\"42\"}]}},"
    "{\"name\":\"updown\",\"sum\":{\"aggregationTemporality\":1,\"dataPoints\":[{\"timeUnixNano\":\"5\",\"asInt\":\"1\"}]}}]}]}]}";

static struct oca_batch *make_batch(void)
{
    struct oca_batch *b = NULL;
    assert_int_equal(oca_batch_decode(OCA_SIGNAL_METRICS, OCA_ENCODING_JSON, (const uint8_t *)request_json,
                                      strlen(request_json), &b, NULL, 0), OCA_OK);
    return b;
}

static uint16_t start_exporter(struct oca_test_harness *h, const char *extra)
{
    uint16_t port = rawhttp_free_port();
    char yaml[256];
    snprintf(yaml, sizeof(yaml), "endpoint: 127.0.0.1:%u\nnamespace: app\n%s", (unsigned)port, extra);
    memset(h, 0, sizeof(*h));
    oca_test_harness_init(h, &oca_prometheus_exporter, "prometheus", yaml, "exporters.prometheus");
    h->comp.loop = &h->loop;
    assert_int_equal(oca_prometheus_exporter.start(&h->comp, &h->loop), OCA_OK);
    return port;
}

static void test_serves_scrape(void **state)
{
    (void)state;
    struct oca_test_harness h;
    uint16_t port = start_exporter(&h, "");
    assert_int_equal(oca_test_consume(&h, make_batch()), OCA_OK);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_METRICS], 1);
    assert_int_equal(h.counters.items[OCA_EDGE_DROPPED][OCA_SIGNAL_METRICS], 1);

    struct rawhttp_response r;
    assert_int_equal(rawhttp_get(&h.loop, port, "/metrics", &r), 200);
    char ctype[128];
    assert_true(rawhttp_header(&r, "content-type", ctype, sizeof(ctype)));
    assert_string_equal(ctype, "text/plain; version=0.0.4; charset=utf-8");
    char *body = strndup(r.body, r.body_len);
    assert_string_equal(body, "# TYPE app_http_requests_total counter\napp_http_requests_total{job=\"shop\"} 42\n");
    oca_buf_free(&r.raw);

    /* gzip when asked: the same text once inflated. */
    assert_int_equal(rawhttp_exchange(&h.loop, port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: "
                                      "deflate, gzip;q=0.8\r\nConnection: close\r\n\r\n", &r), 0);
    assert_int_equal(r.status, 200);
    char enc[32];
    assert_true(rawhttp_header(&r, "content-encoding", enc, sizeof(enc)));
    assert_string_equal(enc, "gzip");
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 31), Z_OK);
    char plain[4096];
    z.next_in = (Bytef *)(uintptr_t)r.body;
    z.avail_in = (uInt)r.body_len;
    z.next_out = (Bytef *)plain;
    z.avail_out = sizeof(plain) - 1;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    plain[z.total_out] = '\0';
    inflateEnd(&z);
    assert_string_equal(plain, body);
    oca_buf_free(&r.raw);

    /* gzip;q=0 is a refusal. */
    assert_int_equal(rawhttp_exchange(&h.loop, port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: "
                                      "gzip;q=0\r\nConnection: close\r\n\r\n", &r), 0);
    assert_false(rawhttp_header(&r, "content-encoding", enc, sizeof(enc)));
    oca_buf_free(&r.raw);
    free(body);

    assert_int_equal(rawhttp_get(&h.loop, port, "/other", &r), 404);
    oca_buf_free(&r.raw);
    assert_int_equal(rawhttp_exchange(&h.loop, port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                                      "Connection: close\r\n\r\n", &r), 0);
    assert_int_equal(r.status, 405);
    oca_buf_free(&r.raw);
    oca_test_harness_free(&h);
}

/* The exporter's state starts with its store (see prometheus.c). */
static size_t series_held(struct oca_test_harness *h)
{
    struct oca_prom_state_stats s;
    oca_prom_state_get_stats(*(struct oca_prom_state **)h->comp.state, &s);
    return s.series;
}

static bool store_is_empty(void *arg)
{
    return series_held(arg) == 0;
}

static void test_expires_without_scrape(void **state)
{
    (void)state;
    struct oca_test_harness h;
    start_exporter(&h, "metric_expiration: 1s\n");
    assert_int_equal(oca_test_consume(&h, make_batch()), OCA_OK);
    assert_int_equal(series_held(&h), 1);
    assert_true(oca_test_run_until(&h.loop, store_is_empty, &h, 5000));
    oca_test_harness_free(&h);
}

static const char exemplar_json[] =
    "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"shop\"}}]},"
    "\"scopeMetrics\":[{\"metrics\":[{\"name\":\"http.requests\",\"sum\":{\"aggregationTemporality\":2,"
    "\"isMonotonic\":true,\"dataPoints\":[{\"timeUnixNano\":\"5\",\"asInt\":\"42\",\"exemplars\":[{"
    "\"timeUnixNano\":\"1700000000250000000\",\"asInt\":\"3\",\"traceId\":\"0af7651916cd43dd8448eb211c80319c\","
    "\"spanId\":\"b7ad6b7169203331\"}]}]}}]}]}]}";

static void test_open_metrics_when_enabled_and_asked(void **state)
{
    (void)state;
    static const char om_get[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;"
                                 "version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\nConnection: close\r\n\r\n";
    static const char om_body[] =
        "# TYPE app_http_requests counter\n"
        "app_http_requests_total{job=\"shop\"} 42 # {trace_id=\"0af7651916cd43dd8448eb211c80319c\","
        "span_id=\"b7ad6b7169203331\"} 3 1700000000.250\n"
        "# EOF\n";
    struct oca_test_harness h;
    uint16_t port = start_exporter(&h, "enable_open_metrics: true\n");
    struct oca_batch *b = NULL;
    assert_int_equal(oca_batch_decode(OCA_SIGNAL_METRICS, OCA_ENCODING_JSON, (const uint8_t *)exemplar_json,
                                      strlen(exemplar_json), &b, NULL, 0), OCA_OK);
    assert_int_equal(oca_test_consume(&h, b), OCA_OK);

    struct rawhttp_response r;
    char ctype[128];
    assert_int_equal(rawhttp_exchange(&h.loop, port, om_get, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(rawhttp_header(&r, "content-type", ctype, sizeof(ctype)));
    assert_string_equal(ctype, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert_int_equal(r.body_len, strlen(om_body));
    assert_memory_equal(r.body, om_body, r.body_len);
    oca_buf_free(&r.raw);

    /* Without the Accept header: text 0.0.4, no exemplar, no # EOF. */
    assert_int_equal(rawhttp_get(&h.loop, port, "/metrics", &r), 200);
    assert_true(rawhttp_header(&r, "content-type", ctype, sizeof(ctype)));
    assert_string_equal(ctype, "text/plain; version=0.0.4; charset=utf-8");
    char *body = strndup(r.body, r.body_len);
    assert_string_equal(body, "# TYPE app_http_requests_total counter\napp_http_requests_total{job=\"shop\"} 42\n");
    free(body);
    oca_buf_free(&r.raw);
    oca_test_harness_free(&h);

    /* Asked for, but not enabled: text. */
    port = start_exporter(&h, "");
    assert_int_equal(rawhttp_exchange(&h.loop, port, om_get, &r), 0);
    assert_true(rawhttp_header(&r, "content-type", ctype, sizeof(ctype)));
    assert_string_equal(ctype, "text/plain; version=0.0.4; charset=utf-8");
    oca_buf_free(&r.raw);
    oca_test_harness_free(&h);
}

/* A gauge request of n series (one per attribute value). */
static struct oca_batch *many_series(size_t n)
{
    struct oca_buf j = { 0 };
    oca_buf_puts(&j, "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
                     "{\"stringValue\":\"shop\"}}]},\"scopeMetrics\":[{\"metrics\":[{\"name\":\"queue.depth\","
                     "\"gauge\":{\"dataPoints\":[");
    for (size_t i = 0; i < n; i++)
        oca_buf_printf(&j, "%s{\"timeUnixNano\":\"5\",\"asInt\":\"%zu\",\"attributes\":[{\"key\":\"queue\","
                           "\"value\":{\"stringValue\":\"q%zu\"}}]}", i ? "," : "", i, i);
    oca_buf_puts(&j, "]}}]}]}]}");
    struct oca_batch *b = NULL;
    assert_int_equal(oca_batch_decode(OCA_SIGNAL_METRICS, OCA_ENCODING_JSON, (const uint8_t *)j.data, j.len, &b,
                                      NULL, 0), OCA_OK);
    oca_buf_free(&j);
    return b;
}

/* A blocking client socket that has sent one GET /metrics. */
static int send_scrape(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(send(fd, req, sizeof(req) - 1, 0), (ssize_t)(sizeof(req) - 1));
    return fd;
}

struct readers {
    int fd[2];
    struct oca_buf got[2];
    bool eof[2];
};

/* Reads what has arrived on both sockets; true once both responses ended (the server closes). */
static bool both_answered(void *arg)
{
    struct readers *r = arg;
    for (int i = 0; i < 2; i++) {
        char buf[65536];
        ssize_t n = -1;
        while (!r->eof[i] && (n = recv(r->fd[i], buf, sizeof(buf), MSG_DONTWAIT)) != 0) {
            if (n < 0) {
                assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
                break;
            }
            oca_buf_append(&r->got[i], buf, (size_t)n);
        }
        if (n == 0)
            r->eof[i] = true;
    }
    return r->eof[0] && r->eof[1];
}

static void test_concurrent_scrapes_and_a_client_that_leaves(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);   /* as the agent does: the server writes to the client that left */
    struct oca_test_harness h;
    uint16_t port = start_exporter(&h, "");
    assert_int_equal(oca_test_consume(&h, many_series(20000)), OCA_OK);
    struct readers r = { .fd = { send_scrape(port), -1 } };
    int gone = send_scrape(port);
    r.fd[1] = send_scrape(port);
    close(gone);
    assert_true(oca_test_run_until(&h.loop, both_answered, &r, 10000));
    for (int i = 0; i < 2; i++) {
        assert_non_null(strstr(r.got[i].data, "HTTP/1.1 200"));
        assert_non_null(strstr(r.got[i].data, "\r\n\r\n# TYPE app_queue_depth gauge\napp_queue_depth{job=\"shop\","
                                              "queue=\"q0\"} 0\napp_queue_depth{job=\"shop\",queue=\"q1\"} 1\n"));
        assert_non_null(strstr(r.got[i].data, "app_queue_depth{job=\"shop\",queue=\"q9999\"} 9999\n"));
        close(r.fd[i]);
        oca_buf_free(&r.got[i]);
    }
    oca_test_harness_free(&h);
}

/* Sends a scrape of a 20,000-series store, runs the loop `turns` times without waiting, then shuts
 * down: done must come once, after whatever the scrape had started (copy or thread pool) ended. */
static void shutdown_after(int turns)
{
    struct oca_test_harness h;
    uint16_t port = start_exporter(&h, "");
    assert_int_equal(oca_test_consume(&h, many_series(20000)), OCA_OK);
    int fd = send_scrape(port);
    for (int i = 0; i < turns; i++)
        uv_run(&h.loop, UV_RUN_NOWAIT);
    oca_test_harness_shutdown(&h);
    assert_int_equal(h.done_calls, 1);
    close(fd);
    oca_test_harness_free(&h);
}

static void test_shutdown_waits_for_a_rendering_scrape(void **state)
{
    (void)state;
    shutdown_after(2);      /* the snapshot is being copied: dropped at once */
    shutdown_after(12);     /* copied (3 slices) and on the thread pool: waited for */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serves_scrape),
        cmocka_unit_test(test_expires_without_scrape),
        cmocka_unit_test(test_open_metrics_when_enabled_and_asked),
        cmocka_unit_test(test_concurrent_scrapes_and_a_client_that_leaves),
        cmocka_unit_test(test_shutdown_waits_for_a_rendering_scrape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
