/* Tests of exporters/debug.c: the summary line per batch for each signal, the per-item lines of
 * normal verbosity, the JSON lines of detailed, and sampling (printed vs counted). The log goes to
 * stderr, which each test redirects into a temporary file and reads back. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/arena.h"
#include "base/errors.h"
#include "base/log.h"
#include "config/diag.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"

extern const struct oca_component_type oca_debug_exporter;

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;

static void setup(struct oca_test_harness *h, const char *yaml)
{
    memset(h, 0, sizeof(*h));
    oca_test_harness_init(h, &oca_debug_exporter, "debug/test", yaml, "exporters.debug");
    if (oca_debug_exporter.start)
        assert_int_equal(oca_debug_exporter.start(&h->comp, &h->loop), OCA_OK);
}

static void teardown(struct oca_test_harness *h)
{
    oca_debug_exporter.shutdown(&h->comp, oca_test_on_done);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    assert_int_equal(h->done_calls, 1);
    oca_test_harness_free(h);
}

static size_t count_lines(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static ProtobufCMessage *make_span(struct oca_arena *a, size_t k, const void *arg)
{
    (void)arg;
    Opentelemetry__Proto__Trace__V1__Span *sp = oca_arena_zalloc(a, sizeof(*sp));
    opentelemetry__proto__trace__v1__span__init(sp);
    char nm[32];
    snprintf(nm, sizeof(nm), "span-%zu", k);
    sp->name = oca_arena_strdup(a, nm);
    static const uint8_t tid[16] = { 0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
                                     0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c };
    static const uint8_t sid[8] = { 0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74 };
    sp->trace_id = (ProtobufCBinaryData){ 16, oca_arena_memdup(a, tid, 16) };
    sp->span_id = (ProtobufCBinaryData){ 8, oca_arena_memdup(a, sid, 8) };
    sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    sp->start_time_unix_nano = 1000000000;
    sp->end_time_unix_nano = 1001500000;
    sp->n_attributes = 1;
    sp->attributes = oca_arena_zalloc(a, sizeof(KeyValue *));
    sp->attributes[0] = oca_test_string_attr(a, "http.method", "GET");
    return &sp->base;
}

/* One resource, one scope, n spans named span-0.. with 1.5 ms duration and one attribute. */
static struct oca_batch *make_traces(size_t n)
{
    return oca_test_make_batch(OCA_SIGNAL_TRACES, "checkout", n, make_span, NULL);
}

/* A sum named requests with points[k] data points. */
static ProtobufCMessage *make_sum(struct oca_arena *a, size_t k, const void *arg)
{
    const size_t *points = arg;
    Opentelemetry__Proto__Metrics__V1__Metric *m = oca_arena_zalloc(a, sizeof(*m));
    opentelemetry__proto__metrics__v1__metric__init(m);
    m->name = oca_arena_strdup(a, "requests");
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
    m->sum = oca_arena_zalloc(a, sizeof(*m->sum));
    opentelemetry__proto__metrics__v1__sum__init(m->sum);
    m->sum->n_data_points = points[k];
    m->sum->data_points = oca_arena_zalloc(a, (points[k] + 1) * sizeof(*m->sum->data_points));
    for (size_t p = 0; p < points[k]; p++) {
        m->sum->data_points[p] = oca_arena_zalloc(a, sizeof(*m->sum->data_points[p]));
        opentelemetry__proto__metrics__v1__number_data_point__init(m->sum->data_points[p]);
    }
    return &m->base;
}

/* One resource and scope; metrics sums with the given point counts. */
static struct oca_batch *make_metrics(const size_t *points, size_t n_metrics)
{
    return oca_test_make_batch(OCA_SIGNAL_METRICS, NULL, n_metrics, make_sum, points);
}

static ProtobufCMessage *make_log(struct oca_arena *a, size_t k, const void *arg)
{
    (void)k;
    (void)arg;
    Opentelemetry__Proto__Logs__V1__LogRecord *lr = oca_arena_zalloc(a, sizeof(*lr));
    opentelemetry__proto__logs__v1__log_record__init(lr);
    lr->severity_text = oca_arena_strdup(a, "WARN");
    lr->severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_WARN;
    lr->body = oca_test_string_attr(a, "x", "disk almost full")->value;
    lr->n_attributes = 1;
    lr->attributes = oca_arena_zalloc(a, sizeof(KeyValue *));
    lr->attributes[0] = oca_test_string_attr(a, "disk", "sda1");
    return &lr->base;
}

static struct oca_batch *make_logs(size_t n)
{
    return oca_test_make_batch(OCA_SIGNAL_LOGS, NULL, n, make_log, NULL);
}

static void test_basic_lines(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, NULL);
    static const size_t points[] = { 2, 4, 1 };
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(oca_test_consume(&h, make_traces(5)), OCA_OK);
    assert_int_equal(oca_test_consume(&h, make_metrics(points, 3)), OCA_OK);
    assert_int_equal(oca_test_consume(&h, make_logs(4)), OCA_OK);
    char *out = oca_test_capture_end(&cap);
    assert_non_null(strstr(out, "TracesExporter resource spans: 1, spans: 5\n"));
    assert_non_null(strstr(out, "MetricsExporter resource metrics: 1, metrics: 3, data points: 7\n"));
    assert_non_null(strstr(out, "LogsExporter resource logs: 1, log records: 4\n"));
    assert_non_null(strstr(out, "\tinfo\tdebug/test\tTracesExporter"));
    /* basic: nothing per item. */
    assert_null(strstr(out, "span-0"));
    free(out);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_TRACES], 5);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_METRICS], 7);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_LOGS], 4);
    teardown(&h);
}

static void test_sampling(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "sampling_initial: 2\nsampling_thereafter: 3\n");
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    for (int k = 0; k < 10; k++)
        assert_int_equal(oca_test_consume(&h, make_traces(2)), OCA_OK);
    /* Another signal has its own window: its first batch is printed. */
    assert_int_equal(oca_test_consume(&h, make_logs(1)), OCA_OK);
    char *out = oca_test_capture_end(&cap);
    /* Batches 1, 2, then every third after the initial two: 5 and 8. */
    assert_int_equal(count_lines(out, "TracesExporter"), 4);
    assert_int_equal(count_lines(out, "LogsExporter"), 1);
    free(out);
    /* Sampled away still counts as sent. */
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_TRACES], 20);
    teardown(&h);
}

static void test_sampling_thereafter_zero(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "sampling_initial: 1\nsampling_thereafter: 0\n");
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    for (int k = 0; k < 5; k++)
        assert_int_equal(oca_test_consume(&h, make_logs(3)), OCA_OK);
    char *out = oca_test_capture_end(&cap);
    assert_int_equal(count_lines(out, "LogsExporter"), 1);
    free(out);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_LOGS], 15);
    teardown(&h);
}

static void test_normal_lines(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "verbosity: normal\n");
    static const size_t points[] = { 3 };
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(oca_test_consume(&h, make_traces(2)), OCA_OK);
    assert_int_equal(oca_test_consume(&h, make_metrics(points, 1)), OCA_OK);
    assert_int_equal(oca_test_consume(&h, make_logs(1)), OCA_OK);
    char *out = oca_test_capture_end(&cap);
    assert_non_null(strstr(out, "span span-0 trace_id=5b8efff798038103d269b633813fc60c span_id=eee19b7ec3c1b174 "
                                "kind=Server duration=1.500ms attributes: http.method=GET\n"));
    assert_non_null(strstr(out, "span span-1 "));
    assert_non_null(strstr(out, "metric requests type=Sum points=3\n"));
    assert_non_null(strstr(out, "log severity=WARN(13) body=disk almost full attributes: disk=sda1\n"));
    free(out);
    teardown(&h);
}

static void test_detailed_lines(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "verbosity: detailed\n");
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(oca_test_consume(&h, make_traces(1)), OCA_OK);
    char *out = oca_test_capture_end(&cap);
    assert_non_null(strstr(out, "TracesExporter resource spans: 1, spans: 1\n"));
    assert_non_null(strstr(out, "resource: {"));
    assert_non_null(strstr(out, "service.name"));
    assert_non_null(strstr(out, "span: {"));
    assert_non_null(strstr(out, "5b8efff798038103d269b633813fc60c"));
    free(out);
    teardown(&h);
}

static void test_shutdown_twice_without_start(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, NULL);
    oca_debug_exporter.shutdown(&h.comp, oca_test_on_done);
    assert_int_equal(h.done_calls, 1);
    h.done_calls = 0;
    teardown(&h);
}

static void test_enum_rejects_unknown(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    struct oca_diag diag;
    void *cfg;
    oca_diag_init(&diag);
    assert_int_equal(oca_test_decode_config(a, &oca_debug_exporter, "verbosity: loud\n", "exporters.debug", &diag, &cfg), 1);
    assert_non_null(strstr(diag.text.data, "detailed"));
    oca_diag_free(&diag);
    oca_arena_destroy(a);
}

int main(void)
{
    oca_log_set_level(OCA_LOG_INFO);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_lines),
        cmocka_unit_test(test_sampling),
        cmocka_unit_test(test_sampling_thereafter_zero),
        cmocka_unit_test(test_normal_lines),
        cmocka_unit_test(test_detailed_lines),
        cmocka_unit_test(test_shutdown_twice_without_start),
        cmocka_unit_test(test_enum_rejects_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
