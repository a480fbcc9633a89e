/* Tests of exporters/prometheus/prometheus.c: metrics consumed are served on GET /metrics (plain and
 * gzip), other paths and methods are refused, counts reach the counters, series expire on the timer
 * without a scrape, and enable_open_metrics (not implemented) is refused by validation. */
#include "testutil.h"

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

static void test_rejects_open_metrics(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    struct oca_diag diag;
    void *cfg;
    oca_diag_init(&diag);
    assert_int_equal(oca_test_decode_config(a, &oca_prometheus_exporter, "enable_open_metrics: true\n",
                                            "exporters.prometheus", &diag, &cfg), 0);
    assert_int_equal(oca_prometheus_exporter.validate(cfg, &diag), OCA_ERR_CONFIG);
    assert_non_null(strstr(diag.text.data, "enable_open_metrics"));
    oca_diag_free(&diag);
    oca_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serves_scrape),
        cmocka_unit_test(test_expires_without_scrape),
        cmocka_unit_test(test_rejects_open_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
