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
#include "config/decode.h"
#include "config/diag.h"
#include "config/yaml_tree.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"

extern const struct oca_component_type oca_debug_exporter;

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;

struct harness {
    uv_loop_t loop;
    struct oca_arena *arena;
    struct oca_component comp;
    struct oca_counters counters;
    int done_calls;
    FILE *capture;
    int saved_stderr;
};

static void setup(struct harness *h, const char *yaml)
{
    memset(h, 0, sizeof(*h));
    assert_int_equal(uv_loop_init(&h->loop), 0);
    h->arena = oca_arena_new(4096);
    struct oca_diag diag;
    oca_diag_init(&diag);
    void *cfg = oca_arena_zalloc(h->arena, oca_debug_exporter.config_size);
    const struct oca_ynode *node = yaml ? oca_yaml_parse(h->arena, "t.yaml", yaml, strlen(yaml), &diag) : NULL;
    assert_int_equal(oca_config_decode(h->arena, oca_debug_exporter.fields, cfg, node, "exporters.debug", &diag), 0);
    oca_diag_free(&diag);
    h->comp.type = &oca_debug_exporter;
    h->comp.id = "debug/test";
    h->comp.config = cfg;
    h->comp.counters = &h->counters;
    h->comp.loop = &h->loop;
    assert_int_equal(oca_debug_exporter.create(&h->comp, NULL), OCA_OK);
    if (oca_debug_exporter.start)
        assert_int_equal(oca_debug_exporter.start(&h->comp, &h->loop), OCA_OK);
}

static void capture_start(struct harness *h)
{
    h->capture = tmpfile();
    assert_non_null(h->capture);
    h->saved_stderr = dup(STDERR_FILENO);
    assert_true(h->saved_stderr >= 0);
    assert_true(dup2(fileno(h->capture), STDERR_FILENO) >= 0);
}

/* Restores stderr and returns what was logged meanwhile (malloc'd). */
static char *capture_end(struct harness *h)
{
    assert_true(dup2(h->saved_stderr, STDERR_FILENO) >= 0);
    close(h->saved_stderr);
    fseek(h->capture, 0, SEEK_END);
    long n = ftell(h->capture);
    rewind(h->capture);
    char *text = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, h->capture), (size_t)n);
    fclose(h->capture);
    h->capture = NULL;
    return text;
}

static void on_done(struct oca_component *self)
{
    struct harness *h = (struct harness *)((char *)self - offsetof(struct harness, comp));
    h->done_calls++;
}

static void teardown(struct harness *h)
{
    oca_debug_exporter.shutdown(&h->comp, on_done);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    assert_int_equal(h->done_calls, 1);
    oca_debug_exporter.destroy(&h->comp);
    assert_int_equal(uv_loop_close(&h->loop), 0);
    oca_arena_destroy(h->arena);
}

static size_t count_lines(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static KeyValue *string_attr(struct oca_arena *a, const char *k, const char *v)
{
    KeyValue *kv = oca_arena_zalloc(a, sizeof(*kv));
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = oca_arena_strdup(a, k);
    kv->value = oca_arena_zalloc(a, sizeof(AnyValue));
    opentelemetry__proto__common__v1__any_value__init(kv->value);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    kv->value->string_value = oca_arena_strdup(a, v);
    return kv;
}

/* One resource, one scope, n spans named span-0.. with 1.5 ms duration and one attribute. */
static struct oca_batch *make_traces(size_t n)
{
    struct oca_batch *b = oca_batch_new(OCA_SIGNAL_TRACES);
    struct oca_arena *a = b->arena;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = oca_arena_zalloc(a, sizeof(*rs));
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    rs->resource = oca_arena_zalloc(a, sizeof(*rs->resource));
    opentelemetry__proto__resource__v1__resource__init(rs->resource);
    rs->resource->n_attributes = 1;
    rs->resource->attributes = oca_arena_zalloc(a, sizeof(KeyValue *));
    rs->resource->attributes[0] = string_attr(a, "service.name", "checkout");
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = oca_arena_zalloc(a, sizeof(*ss));
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    ss->n_spans = n;
    ss->spans = oca_arena_zalloc(a, n * sizeof(*ss->spans));
    for (size_t k = 0; k < n; k++) {
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
        sp->attributes[0] = string_attr(a, "http.method", "GET");
        ss->spans[k] = sp;
    }
    rs->n_scope_spans = 1;
    rs->scope_spans = oca_arena_zalloc(a, sizeof(*rs->scope_spans));
    rs->scope_spans[0] = ss;
    b->traces->n_resource_spans = 1;
    b->traces->resource_spans = oca_arena_zalloc(a, sizeof(*b->traces->resource_spans));
    b->traces->resource_spans[0] = rs;
    b->items = oca_batch_count_items(OCA_SIGNAL_TRACES, b->msg);
    return b;
}

/* One resource and scope; metrics gauges with the given point counts. */
static struct oca_batch *make_metrics(const size_t *points, size_t n_metrics)
{
    struct oca_batch *b = oca_batch_new(OCA_SIGNAL_METRICS);
    struct oca_arena *a = b->arena;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = oca_arena_zalloc(a, sizeof(*rm));
    opentelemetry__proto__metrics__v1__resource_metrics__init(rm);
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = oca_arena_zalloc(a, sizeof(*sm));
    opentelemetry__proto__metrics__v1__scope_metrics__init(sm);
    sm->n_metrics = n_metrics;
    sm->metrics = oca_arena_zalloc(a, n_metrics * sizeof(*sm->metrics));
    for (size_t k = 0; k < n_metrics; k++) {
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
        sm->metrics[k] = m;
    }
    rm->n_scope_metrics = 1;
    rm->scope_metrics = oca_arena_zalloc(a, sizeof(*rm->scope_metrics));
    rm->scope_metrics[0] = sm;
    b->metrics->n_resource_metrics = 1;
    b->metrics->resource_metrics = oca_arena_zalloc(a, sizeof(*b->metrics->resource_metrics));
    b->metrics->resource_metrics[0] = rm;
    b->items = oca_batch_count_items(OCA_SIGNAL_METRICS, b->msg);
    return b;
}

static struct oca_batch *make_logs(size_t n)
{
    struct oca_batch *b = oca_batch_new(OCA_SIGNAL_LOGS);
    struct oca_arena *a = b->arena;
    Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = oca_arena_zalloc(a, sizeof(*rl));
    opentelemetry__proto__logs__v1__resource_logs__init(rl);
    Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = oca_arena_zalloc(a, sizeof(*sl));
    opentelemetry__proto__logs__v1__scope_logs__init(sl);
    sl->n_log_records = n;
    sl->log_records = oca_arena_zalloc(a, n * sizeof(*sl->log_records));
    for (size_t k = 0; k < n; k++) {
        Opentelemetry__Proto__Logs__V1__LogRecord *lr = oca_arena_zalloc(a, sizeof(*lr));
        opentelemetry__proto__logs__v1__log_record__init(lr);
        lr->severity_text = oca_arena_strdup(a, "WARN");
        lr->severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_WARN;
        lr->body = string_attr(a, "x", "disk almost full")->value;
        lr->n_attributes = 1;
        lr->attributes = oca_arena_zalloc(a, sizeof(KeyValue *));
        lr->attributes[0] = string_attr(a, "disk", "sda1");
        sl->log_records[k] = lr;
    }
    rl->n_scope_logs = 1;
    rl->scope_logs = oca_arena_zalloc(a, sizeof(*rl->scope_logs));
    rl->scope_logs[0] = sl;
    b->logs->n_resource_logs = 1;
    b->logs->resource_logs = oca_arena_zalloc(a, sizeof(*b->logs->resource_logs));
    b->logs->resource_logs[0] = rl;
    b->items = oca_batch_count_items(OCA_SIGNAL_LOGS, b->msg);
    return b;
}

static int consume(struct harness *h, struct oca_batch *b)
{
    int err = oca_debug_exporter.consume(&h->comp, b->signal, b);
    oca_batch_unref(b);
    return err;
}

static void test_basic_lines(void **state)
{
    (void)state;
    struct harness h;
    setup(&h, NULL);
    static const size_t points[] = { 2, 4, 1 };
    capture_start(&h);
    assert_int_equal(consume(&h, make_traces(5)), OCA_OK);
    assert_int_equal(consume(&h, make_metrics(points, 3)), OCA_OK);
    assert_int_equal(consume(&h, make_logs(4)), OCA_OK);
    char *out = capture_end(&h);
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
    struct harness h;
    setup(&h, "sampling_initial: 2\nsampling_thereafter: 3\n");
    capture_start(&h);
    for (int k = 0; k < 10; k++)
        assert_int_equal(consume(&h, make_traces(2)), OCA_OK);
    /* Another signal has its own window: its first batch is printed. */
    assert_int_equal(consume(&h, make_logs(1)), OCA_OK);
    char *out = capture_end(&h);
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
    struct harness h;
    setup(&h, "sampling_initial: 1\nsampling_thereafter: 0\n");
    capture_start(&h);
    for (int k = 0; k < 5; k++)
        assert_int_equal(consume(&h, make_logs(3)), OCA_OK);
    char *out = capture_end(&h);
    assert_int_equal(count_lines(out, "LogsExporter"), 1);
    free(out);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_LOGS], 15);
    teardown(&h);
}

static void test_normal_lines(void **state)
{
    (void)state;
    struct harness h;
    setup(&h, "verbosity: normal\n");
    static const size_t points[] = { 3 };
    capture_start(&h);
    assert_int_equal(consume(&h, make_traces(2)), OCA_OK);
    assert_int_equal(consume(&h, make_metrics(points, 1)), OCA_OK);
    assert_int_equal(consume(&h, make_logs(1)), OCA_OK);
    char *out = capture_end(&h);
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
    struct harness h;
    setup(&h, "verbosity: detailed\n");
    capture_start(&h);
    assert_int_equal(consume(&h, make_traces(1)), OCA_OK);
    char *out = capture_end(&h);
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
    struct harness h;
    setup(&h, NULL);
    oca_debug_exporter.shutdown(&h.comp, on_done);
    assert_int_equal(h.done_calls, 1);
    h.done_calls = 0;
    teardown(&h);
}

static void test_enum_rejects_unknown(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    struct oca_diag diag;
    oca_diag_init(&diag);
    const char *yaml = "verbosity: loud\n";
    const struct oca_ynode *node = oca_yaml_parse(a, "t.yaml", yaml, strlen(yaml), &diag);
    void *cfg = oca_arena_zalloc(a, oca_debug_exporter.config_size);
    assert_int_equal(oca_config_decode(a, oca_debug_exporter.fields, cfg, node, "exporters.debug", &diag), 1);
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
