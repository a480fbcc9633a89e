/* Tests codec/otlp_json.c: every OTLP field type survives encode -> decode with identical packed
 * protobuf bytes, the exact text of the output, what the decoder accepts, and the error messages
 * (with their JSON paths) for what it rejects. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/errors.h"
#include "codec/otlp_json.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#define PB(name) Opentelemetry__Proto__##name
#define PBD(name) opentelemetry__proto__##name##__descriptor

#define TRACES_REQ (&PBD(collector__trace__v1__export_trace_service_request))
#define METRICS_REQ (&PBD(collector__metrics__v1__export_metrics_service_request))
#define LOGS_REQ (&PBD(collector__logs__v1__export_logs_service_request))

static struct oca_arena *arena;

static int setup(void **state)
{
    (void)state;
    arena = oca_arena_new(4096);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    oca_arena_destroy(arena);
    return 0;
}

/* Building messages. */

static void *new_msg(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = oca_arena_alloc(arena, desc->sizeof_message);
    desc->message_init(m);
    return m;
}

static void *ptrs(size_t n, ...)
{
    void **p = oca_arena_alloc(arena, n * sizeof(*p));
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        p[i] = va_arg(ap, void *);
    va_end(ap);
    return p;
}

static char *str(const char *s) { return oca_arena_strdup(arena, s); }

static ProtobufCBinaryData bin(const void *p, size_t n)
{
    return (ProtobufCBinaryData){ n, oca_arena_memdup(arena, p, n) };
}

static PB(Common__V1__AnyValue) *av(int which)
{
    PB(Common__V1__AnyValue) *v = new_msg(&PBD(common__v1__any_value));
    v->value_case = which;
    return v;
}

static PB(Common__V1__AnyValue) *av_str(const char *s)
{
    PB(Common__V1__AnyValue) *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
    v->string_value = str(s);
    return v;
}

static PB(Common__V1__AnyValue) *av_int(int64_t i)
{
    PB(Common__V1__AnyValue) *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
    v->int_value = i;
    return v;
}

static PB(Common__V1__AnyValue) *av_double(double d)
{
    PB(Common__V1__AnyValue) *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
    v->double_value = d;
    return v;
}

static PB(Common__V1__AnyValue) *av_bool(bool b)
{
    PB(Common__V1__AnyValue) *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
    v->bool_value = b;
    return v;
}

static PB(Common__V1__AnyValue) *av_bytes(const void *p, size_t n)
{
    PB(Common__V1__AnyValue) *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE);
    v->bytes_value = bin(p, n);
    return v;
}

static PB(Common__V1__AnyValue) *av_array(size_t n, void *values)
{
    PB(Common__V1__AnyValue) *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE);
    v->array_value = new_msg(&PBD(common__v1__array_value));
    v->array_value->n_values = n;
    v->array_value->values = values;
    return v;
}

static PB(Common__V1__AnyValue) *av_kvlist(size_t n, void *values)
{
    PB(Common__V1__AnyValue) *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE);
    v->kvlist_value = new_msg(&PBD(common__v1__key_value_list));
    v->kvlist_value->n_values = n;
    v->kvlist_value->values = values;
    return v;
}

static PB(Common__V1__KeyValue) *kv(const char *key, PB(Common__V1__AnyValue) *value)
{
    PB(Common__V1__KeyValue) *k = new_msg(&PBD(common__v1__key_value));
    k->key = str(key);
    k->value = value;
    return k;
}

static const uint8_t trace_id[16] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                      0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10 };
static const uint8_t span_id[8] = { 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8 };
static const uint8_t parent_id[8] = { 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88 };

/* Every AnyValue kind, including the awkward values. */
static PB(Resource__V1__Resource) *rich_resource(void)
{
    static const uint8_t raw[] = { 0x00, 0xff, 0xfe, 0x10, 0x80 };
    PB(Resource__V1__Resource) *r = new_msg(&PBD(resource__v1__resource));
    r->n_attributes = 16;
    r->attributes = ptrs(16, kv("service.name", av_str("checkout")),
                         kv("text", av_str("grüße, 日本語, emoji \xF0\x9F\x98\x80, \"quoted\" back\\slash")),
                         kv("controls", av_str("\x01\x02\b\f\n\r\t\x1f\x7f end")),
                         kv("empty", av_str("")), kv("bool.true", av_bool(true)),
                         kv("bool.false", av_bool(false)), kv("int.min", av_int(INT64_MIN)),
                         kv("int.max", av_int(INT64_MAX)), kv("int.zero", av_int(0)),
                         kv("double.nan", av_double(NAN)), kv("double.inf", av_double(INFINITY)),
                         kv("double.ninf", av_double(-INFINITY)), kv("double.nzero", av_double(-0.0)),
                         kv("double.tiny", av_double(1e-300)), kv("bytes", av_bytes(raw, sizeof(raw))),
                         kv("nested",
                            av_kvlist(3, ptrs(3, kv("a", av_array(3, ptrs(3, av_int(1), av_double(0.1),
                                                                            av_str("x")))),
                                              kv("b", av_kvlist(1, ptrs(1, kv("deep", av_bool(true))))),
                                              kv("c", av_array(0, NULL))))));
    r->dropped_attributes_count = 7;
    return r;
}

static PB(Common__V1__InstrumentationScope) *scope(void)
{
    PB(Common__V1__InstrumentationScope) *s = new_msg(&PBD(common__v1__instrumentation_scope));
    s->name = str("io.opentelemetry.test");
    s->version = str("1.2.3");
    s->n_attributes = 1;
    s->attributes = ptrs(1, kv("scope.attr", av_double(2.5)));
    s->dropped_attributes_count = 1;
    return s;
}

static PB(Trace__V1__Span) *rich_span(void)
{
    PB(Trace__V1__Span) *s = new_msg(&PBD(trace__v1__span));
    PB(Trace__V1__Span__Event) *ev = new_msg(&PBD(trace__v1__span__event));
    PB(Trace__V1__Span__Link) *ln = new_msg(&PBD(trace__v1__span__link));
    s->trace_id = bin(trace_id, 16);
    s->span_id = bin(span_id, 8);
    s->parent_span_id = bin(parent_id, 8);
    s->trace_state = str("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    s->flags = 0x301;
    s->name = str("GET /api/v1/items");
    s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
    s->start_time_unix_nano = UINT64_MAX / 2;
    s->end_time_unix_nano = UINT64_MAX / 2 + 12345;
    s->n_attributes = 2;
    s->attributes = ptrs(2, kv("http.status_code", av_int(200)), kv("ok", av_bool(true)));
    s->dropped_attributes_count = 3;
    ev->time_unix_nano = UINT64_MAX / 2 + 1;
    ev->name = str("exception");
    ev->n_attributes = 1;
    ev->attributes = ptrs(1, kv("exception.message", av_str("line 1\nline 2")));
    ev->dropped_attributes_count = 2;
    s->n_events = 1;
    s->events = ptrs(1, ev);
    s->dropped_events_count = 4;
    ln->trace_id = bin(trace_id, 16);
    ln->span_id = bin(parent_id, 8);
    ln->trace_state = str("k=v");
    ln->n_attributes = 1;
    ln->attributes = ptrs(1, kv("link", av_str("yes")));
    ln->dropped_attributes_count = 5;
    ln->flags = 1;
    s->n_links = 1;
    s->links = ptrs(1, ln);
    s->dropped_links_count = 6;
    s->status = new_msg(&PBD(trace__v1__status));
    s->status->message = str("upstream failed");
    s->status->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    return s;
}

static ProtobufCMessage *traces_request(void)
{
    PB(Collector__Trace__V1__ExportTraceServiceRequest) *req = new_msg(TRACES_REQ);
    PB(Trace__V1__ResourceSpans) *rs = new_msg(&PBD(trace__v1__resource_spans));
    PB(Trace__V1__ScopeSpans) *ss = new_msg(&PBD(trace__v1__scope_spans));
    PB(Trace__V1__Span) *bare = new_msg(&PBD(trace__v1__span));
    bare->name = str("bare");
    ss->scope = scope();
    ss->n_spans = 2;
    ss->spans = ptrs(2, rich_span(), bare);
    ss->schema_url = str("https://opentelemetry.io/schemas/1.21.0");
    rs->resource = rich_resource();
    rs->n_scope_spans = 1;
    rs->scope_spans = ptrs(1, ss);
    rs->schema_url = str("https://opentelemetry.io/schemas/1.20.0");
    req->n_resource_spans = 2;
    req->resource_spans = ptrs(2, rs, new_msg(&PBD(trace__v1__resource_spans)));
    return &req->base;
}

static PB(Metrics__V1__Exemplar) *exemplar(bool as_int)
{
    PB(Metrics__V1__Exemplar) *e = new_msg(&PBD(metrics__v1__exemplar));
    e->n_filtered_attributes = 1;
    e->filtered_attributes = ptrs(1, kv("user", av_str("alice")));
    e->time_unix_nano = 1700000000000000001u;
    if (as_int) {
        e->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT;
        e->as_int = -42;
    } else {
        e->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
        e->as_double = 0.25;
    }
    e->trace_id = bin(trace_id, 16);
    e->span_id = bin(span_id, 8);
    return e;
}

static PB(Metrics__V1__NumberDataPoint) *number_point(bool as_int, double d, int64_t i)
{
    PB(Metrics__V1__NumberDataPoint) *p = new_msg(&PBD(metrics__v1__number_data_point));
    p->n_attributes = 1;
    p->attributes = ptrs(1, kv("host", av_str("a")));
    p->start_time_unix_nano = 1700000000000000000u;
    p->time_unix_nano = 1700000000999999999u;
    if (as_int) {
        p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
        p->as_int = i;
    } else {
        p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
        p->as_double = d;
    }
    p->n_exemplars = 2;
    p->exemplars = ptrs(2, exemplar(true), exemplar(false));
    p->flags = 1;
    return p;
}

static PB(Metrics__V1__Metric) *metric(const char *name, int data_case, void *data)
{
    PB(Metrics__V1__Metric) *m = new_msg(&PBD(metrics__v1__metric));
    m->name = str(name);
    m->description = str("a description");
    m->unit = str("ms");
    m->data_case = data_case;
    m->gauge = data;
    return m;
}

static PB(Metrics__V1__Metric) *gauge_metric(void)
{
    PB(Metrics__V1__Gauge) *g = new_msg(&PBD(metrics__v1__gauge));
    g->n_data_points = 4;
    g->data_points = ptrs(4, number_point(false, 3.14159, 0), number_point(true, 0, INT64_MIN),
                          number_point(false, 0, 0), number_point(true, 0, 0));
    PB(Metrics__V1__Metric) *m = metric("gauge", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE, g);
    m->n_metadata = 1;
    m->metadata = ptrs(1, kv("meta", av_str("data")));
    return m;
}

static PB(Metrics__V1__Metric) *sum_metric(void)
{
    PB(Metrics__V1__Sum) *s = new_msg(&PBD(metrics__v1__sum));
    s->n_data_points = 1;
    s->data_points = ptrs(1, number_point(true, 0, INT64_MAX));
    s->aggregation_temporality = OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    s->is_monotonic = 1;
    return metric("sum", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM, s);
}

static PB(Metrics__V1__HistogramDataPoint) *histogram_point(bool with_sum)
{
    static const uint64_t counts[] = { 0, 5, UINT64_MAX, 1 };
    static const double bounds[] = { -1.5, 0, 1e300 };
    PB(Metrics__V1__HistogramDataPoint) *p = new_msg(&PBD(metrics__v1__histogram_data_point));
    p->start_time_unix_nano = 1;
    p->time_unix_nano = 2;
    p->count = 6;
    p->n_bucket_counts = 4;
    p->bucket_counts = oca_arena_memdup(arena, counts, sizeof(counts));
    p->n_explicit_bounds = 3;
    p->explicit_bounds = oca_arena_memdup(arena, bounds, sizeof(bounds));
    p->n_exemplars = 1;
    p->exemplars = ptrs(1, exemplar(false));
    if (with_sum) {
        /* Zero on purpose: a set oneof member is written even at its default. */
        p->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM;
        p->sum = 0;
        p->_min_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___MIN_MIN;
        p->min = -2.5;
        p->_max_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___MAX_MAX;
        p->max = 1e10;
    }
    return p;
}

static PB(Metrics__V1__Metric) *histogram_metric(void)
{
    PB(Metrics__V1__Histogram) *h = new_msg(&PBD(metrics__v1__histogram));
    h->n_data_points = 2;
    h->data_points = ptrs(2, histogram_point(true), histogram_point(false));
    h->aggregation_temporality = OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA;
    return metric("histogram", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM, h);
}

static PB(Metrics__V1__ExponentialHistogramDataPoint__Buckets) *buckets(int32_t offset, size_t n)
{
    PB(Metrics__V1__ExponentialHistogramDataPoint__Buckets) *b =
        new_msg(&PBD(metrics__v1__exponential_histogram_data_point__buckets));
    b->offset = offset;
    b->n_bucket_counts = n;
    b->bucket_counts = oca_arena_alloc(arena, n * sizeof(uint64_t));
    for (size_t i = 0; i < n; i++)
        b->bucket_counts[i] = i * 1000003u;
    return b;
}

static PB(Metrics__V1__Metric) *exp_histogram_metric(void)
{
    PB(Metrics__V1__ExponentialHistogram) *h = new_msg(&PBD(metrics__v1__exponential_histogram));
    PB(Metrics__V1__ExponentialHistogramDataPoint) *p =
        new_msg(&PBD(metrics__v1__exponential_histogram_data_point));
    p->n_attributes = 1;
    p->attributes = ptrs(1, kv("k", av_int(-1)));
    p->start_time_unix_nano = 10;
    p->time_unix_nano = 20;
    p->count = 100;
    p->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___SUM_SUM;
    p->sum = 1234.5;
    p->scale = -3;
    p->zero_count = 7;
    p->positive = buckets(-5, 4);
    p->negative = buckets(INT32_MIN, 2);
    p->flags = 1;
    p->n_exemplars = 1;
    p->exemplars = ptrs(1, exemplar(true));
    p->_min_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___MIN_MIN;
    p->min = -0.0;
    p->_max_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___MAX_MAX;
    p->max = DBL_MAX;
    p->zero_threshold = DBL_MIN / 4;
    h->n_data_points = 1;
    h->data_points = ptrs(1, p);
    h->aggregation_temporality = OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    return metric("exp", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM, h);
}

static PB(Metrics__V1__Metric) *summary_metric(void)
{
    PB(Metrics__V1__Summary) *s = new_msg(&PBD(metrics__v1__summary));
    PB(Metrics__V1__SummaryDataPoint) *p = new_msg(&PBD(metrics__v1__summary_data_point));
    p->start_time_unix_nano = 5;
    p->time_unix_nano = 6;
    p->count = 3;
    p->sum = 9.75;
    p->n_quantile_values = 3;
    p->quantile_values = oca_arena_alloc(arena, 3 * sizeof(void *));
    for (size_t i = 0; i < 3; i++) {
        p->quantile_values[i] = new_msg(&PBD(metrics__v1__summary_data_point__value_at_quantile));
        p->quantile_values[i]->quantile = i * 0.5;
        p->quantile_values[i]->value = 1.0 / 3.0 + (double)i;
    }
    p->flags = 1;
    s->n_data_points = 1;
    s->data_points = ptrs(1, p);
    return metric("summary", OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY, s);
}

static ProtobufCMessage *metrics_request(void)
{
    PB(Collector__Metrics__V1__ExportMetricsServiceRequest) *req = new_msg(METRICS_REQ);
    PB(Metrics__V1__ResourceMetrics) *rm = new_msg(&PBD(metrics__v1__resource_metrics));
    PB(Metrics__V1__ScopeMetrics) *sm = new_msg(&PBD(metrics__v1__scope_metrics));
    sm->scope = scope();
    sm->n_metrics = 5;
    sm->metrics = ptrs(5, gauge_metric(), sum_metric(), histogram_metric(), exp_histogram_metric(),
                       summary_metric());
    sm->schema_url = str("s");
    rm->resource = rich_resource();
    rm->n_scope_metrics = 1;
    rm->scope_metrics = ptrs(1, sm);
    req->n_resource_metrics = 1;
    req->resource_metrics = ptrs(1, rm);
    return &req->base;
}

static PB(Logs__V1__LogRecord) *log_record(PB(Common__V1__AnyValue) *body, bool with_ids)
{
    PB(Logs__V1__LogRecord) *r = new_msg(&PBD(logs__v1__log_record));
    r->time_unix_nano = 1700000000000000000u;
    r->observed_time_unix_nano = 1700000000000000777u;
    r->severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_WARN;
    r->severity_text = str("WARN");
    r->body = body;
    r->n_attributes = 1;
    r->attributes = ptrs(1, kv("log.attr", av_int(5)));
    r->dropped_attributes_count = 1;
    r->flags = 1;
    if (with_ids) {
        r->trace_id = bin(trace_id, 16);
        r->span_id = bin(span_id, 8);
    }
    r->event_name = str("app.event");
    return r;
}

static ProtobufCMessage *logs_request(void)
{
    static const uint8_t raw[] = { 'b', 0, 'n' };
    PB(Collector__Logs__V1__ExportLogsServiceRequest) *req = new_msg(LOGS_REQ);
    PB(Logs__V1__ResourceLogs) *rl = new_msg(&PBD(logs__v1__resource_logs));
    PB(Logs__V1__ScopeLogs) *sl = new_msg(&PBD(logs__v1__scope_logs));
    sl->scope = scope();
    sl->n_log_records = 5;
    sl->log_records =
        ptrs(5, log_record(av_str("something happened\n\ttab"), true), log_record(av_int(-7), false),
             log_record(av_kvlist(1, ptrs(1, kv("msg", av_str("structured")))), true),
             log_record(av_bytes(raw, sizeof(raw)), false),
             log_record(av_array(2, ptrs(2, av_bool(false), av_double(-1e-5))), true));
    rl->resource = rich_resource();
    rl->n_scope_logs = 1;
    rl->scope_logs = ptrs(1, sl);
    req->n_resource_logs = 1;
    req->resource_logs = ptrs(1, rl);
    return &req->base;
}

/* Checking. */

static void *decode_ok(const ProtobufCMessageDescriptor *desc, const char *json)
{
    ProtobufCMessage *m = NULL;
    char err[256];
    int rc = oca_otlp_json_decode(desc, json, strlen(json), arena, &m, err, sizeof(err));
    if (rc != OCA_OK)
        fail_msg("decode failed: %s\ninput: %s", err, json);
    assert_non_null(m);
    return m;
}

static void expect_error(const ProtobufCMessageDescriptor *desc, const char *json, const char *message)
{
    ProtobufCMessage *m = (ProtobufCMessage *)&m;
    char err[256];
    int rc = oca_otlp_json_decode(desc, json, strlen(json), arena, &m, err, sizeof(err));
    if (rc != OCA_ERR_JSON || strcmp(err, message) != 0)
        fail_msg("input: %s\nwant: %s\ngot (%d): %s", json, message, rc, rc ? err : "success");
    assert_null(m);
}

static char *encode(const ProtobufCMessage *m)
{
    struct oca_buf b = { 0 };
    oca_otlp_json_encode(m, &b);
    assert_int_equal(strlen(b.data), b.len);
    char *s = oca_arena_strdup(arena, b.data);
    oca_buf_free(&b);
    return s;
}

/* encode -> decode gives the same protobuf bytes; the same holds for a message that went through
 * protobuf_c_message_unpack, and encoding the decoded message gives the same text. */
static void assert_round_trip(const ProtobufCMessage *orig)
{
    char *json = encode(orig);
    ProtobufCMessage *back = decode_ok(orig->descriptor, json);
    oca_test_assert_same_packing(orig, back);
    assert_string_equal(encode(back), json);

    ProtobufCAllocator alloc = { oca_arena_alloc_cb, oca_arena_free_cb, arena };
    size_t len;
    uint8_t *wire = oca_test_pack(orig, &len);
    ProtobufCMessage *unpacked = protobuf_c_message_unpack(orig->descriptor, &alloc, len, wire);
    free(wire);
    assert_non_null(unpacked);
    assert_string_equal(encode(unpacked), json);
}

static void round_trip_traces(void **state)
{
    (void)state;
    assert_round_trip(traces_request());
}

static void round_trip_metrics(void **state)
{
    (void)state;
    assert_round_trip(metrics_request());
}

static void round_trip_logs(void **state)
{
    (void)state;
    assert_round_trip(logs_request());
}

static void encodes_exact_span_text(void **state)
{
    (void)state;
    PB(Trace__V1__Span) *s = new_msg(&PBD(trace__v1__span));
    s->trace_id = bin(trace_id, 16);
    s->span_id = bin(span_id, 8);
    s->name = str("op");
    s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    s->start_time_unix_nano = 1700000000000000000u;
    s->end_time_unix_nano = 1700000000000000123u;
    s->n_attributes = 1;
    s->attributes = ptrs(1, kv("http.method", av_str("GET")));
    s->status = new_msg(&PBD(trace__v1__status));
    s->status->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    s->status->message = str("boom");
    s->flags = 257;
    assert_string_equal(encode(&s->base),
                        "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"a1a2a3a4a5a6a7a8\","
                        "\"name\":\"op\",\"kind\":2,\"startTimeUnixNano\":\"1700000000000000000\","
                        "\"endTimeUnixNano\":\"1700000000000000123\",\"attributes\":[{\"key\":\"http.method\","
                        "\"value\":{\"stringValue\":\"GET\"}}],\"status\":{\"message\":\"boom\",\"code\":2},"
                        "\"flags\":257}");
    assert_string_equal(encode(new_msg(&PBD(trace__v1__span))), "{}");
}

static void encodes_set_oneof_members_at_default(void **state)
{
    (void)state;
    assert_string_equal(encode(&av_int(0)->base), "{\"intValue\":\"0\"}");
    assert_string_equal(encode(&av_str("")->base), "{\"stringValue\":\"\"}");
    assert_string_equal(encode(&av_bool(false)->base), "{\"boolValue\":false}");
    assert_string_equal(encode(&av_double(0)->base), "{\"doubleValue\":0}");
    assert_string_equal(encode(&av_bytes("", 0)->base), "{\"bytesValue\":\"\"}");
    assert_string_equal(encode(&av_array(0, NULL)->base), "{\"arrayValue\":{}}");
    assert_string_equal(encode(&av(0)->base), "{}");
    PB(Metrics__V1__HistogramDataPoint) *p = new_msg(&PBD(metrics__v1__histogram_data_point));
    p->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM;
    assert_string_equal(encode(&p->base), "{\"sum\":0}");
    PB(Common__V1__AnyValue) *v = decode_ok(&PBD(common__v1__any_value), "{\"stringValue\":\"\"}");
    assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
    size_t len;
    free(oca_test_pack(&v->base, &len));
    assert_int_equal(len, 2);
}

static void encodes_numbers(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        { 0.1, "0.1" },       { 5, "5" },           { -0.0, "-0" },
        { 1e-300, "1e-300" }, { 1e21, "1e+21" },    { 123456789012345, "123456789012345" },
        { 1.0 / 3.0, "0.3333333333333333" },       { 2.5e-7, "2.5e-07" },
        { NAN, "\"NaN\"" },   { INFINITY, "\"Infinity\"" }, { -INFINITY, "\"-Infinity\"" },
        { DBL_MAX, "1.7976931348623157e+308" },     { 4.9406564584124654e-324, "5e-324" },
    };
    char want[128];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(want, sizeof(want), "{\"doubleValue\":%s}", cases[i].text);
        char *got = encode(&av_double(cases[i].v)->base);
        assert_string_equal(got, want);
        PB(Common__V1__AnyValue) *back = decode_ok(&PBD(common__v1__any_value), got);
        assert_memory_equal(&back->double_value, &(double){ isnan(cases[i].v) ? NAN : cases[i].v },
                            sizeof(double));
    }
    assert_string_equal(encode(&av_int(INT64_MIN)->base), "{\"intValue\":\"-9223372036854775808\"}");
}

static void escapes_strings(void **state)
{
    (void)state;
    assert_string_equal(encode(&av_str("a\"b\\c\x01\x1f\b\f\n\r\t\x7f/\xC3\xA9")->base),
                        "{\"stringValue\":\"a\\\"b\\\\c\\u0001\\u001f\\b\\f\\n\\r\\t\x7f/\xC3\xA9\"}");
    /* Invalid UTF-8 (a stray continuation byte, a truncated sequence, an overlong form, a
     * surrogate) must not reach the output. */
    assert_string_equal(encode(&av_str("x\x80y\xE2\x82z\xC0\xAF\xED\xA0\x80")->base),
                        "{\"stringValue\":\"x\xEF\xBF\xBDy\xEF\xBF\xBD\xEF\xBF\xBDz\xEF\xBF\xBD\xEF\xBF"
                        "\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"}");
    PB(Common__V1__AnyValue) *v =
        decode_ok(&PBD(common__v1__any_value), "{\"stringValue\":\"\\u00e9\\ud83d\\ude00\\n\\/\"}");
    assert_string_equal(v->string_value, "\xC3\xA9\xF0\x9F\x98\x80\n/");
}

static void decodes_upper_case_hex(void **state)
{
    (void)state;
    PB(Trace__V1__Span) *s = decode_ok(&PBD(trace__v1__span),
                                       "{\"traceId\":\"0102030405060708090A0B0C0D0E0F10\","
                                       "\"spanId\":\"A1a2A3a4A5a6A7a8\",\"parentSpanId\":\"\"}");
    assert_int_equal(s->trace_id.len, 16);
    assert_memory_equal(s->trace_id.data, trace_id, 16);
    assert_int_equal(s->span_id.len, 8);
    assert_memory_equal(s->span_id.data, span_id, 8);
    assert_int_equal(s->parent_span_id.len, 0);
}

static void decodes_enum_names(void **state)
{
    (void)state;
    PB(Trace__V1__Span) *s = decode_ok(&PBD(trace__v1__span),
                                       "{\"kind\":\"SPAN_KIND_SERVER\",\"status\":{\"code\":\"STATUS_CODE_OK\"}}");
    assert_int_equal(s->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
    assert_int_equal(s->status->code, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK);
    s = decode_ok(&PBD(trace__v1__span), "{\"kind\":3}");
    assert_int_equal(s->kind, 3);
    /* proto3 enums are open: an unknown number is kept. */
    s = decode_ok(&PBD(trace__v1__span), "{\"kind\":77}");
    assert_int_equal(s->kind, 77);
    PB(Logs__V1__LogRecord) *r = decode_ok(&PBD(logs__v1__log_record), "{\"severityNumber\":\"SEVERITY_NUMBER_FATAL4\"}");
    assert_int_equal(r->severity_number, 24);
}

static void decodes_integers_as_numbers_and_strings(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int64_t want;
    } cases[] = {
        { "{\"intValue\":42}", 42 },
        { "{\"intValue\":\"42\"}", 42 },
        { "{\"intValue\":-9223372036854775808}", INT64_MIN },
        { "{\"intValue\":\"-9223372036854775808\"}", INT64_MIN },
        { "{\"intValue\":9223372036854775807}", INT64_MAX },
        { "{\"intValue\":\"9223372036854775807\"}", INT64_MAX },
        { "{\"intValue\":1e3}", 1000 },
        { "{\"intValue\":\"1.5e1\"}", 15 },
        { "{\"intValue\":2.0}", 2 },
        { "{\"intValue\":-0}", 0 },
        { "{\"intValue\":\"-0\"}", 0 },
        { "{\"intValue\":123456789012345678.0}", 123456789012345678 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        PB(Common__V1__AnyValue) *v = decode_ok(&PBD(common__v1__any_value), cases[i].json);
        assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
        assert_true(v->int_value == cases[i].want);
    }
    PB(Trace__V1__Span) *s = decode_ok(&PBD(trace__v1__span),
                                       "{\"startTimeUnixNano\":18446744073709551615,"
                                       "\"endTimeUnixNano\":\"18446744073709551614\",\"flags\":\"4294967295\","
                                       "\"droppedAttributesCount\":4294967295}");
    assert_true(s->start_time_unix_nano == UINT64_MAX);
    assert_true(s->end_time_unix_nano == UINT64_MAX - 1);
    assert_int_equal(s->flags, UINT32_MAX);
    assert_int_equal(s->dropped_attributes_count, UINT32_MAX);
    PB(Metrics__V1__ExponentialHistogramDataPoint) *p =
        decode_ok(&PBD(metrics__v1__exponential_histogram_data_point), "{\"scale\":-2147483648}");
    assert_int_equal(p->scale, INT32_MIN);
}

static void decodes_doubles(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        double want;
    } cases[] = {
        { "{\"doubleValue\":1.5}", 1.5 },
        { "{\"doubleValue\":\"1.5\"}", 1.5 },
        { "{\"doubleValue\":7}", 7 },
        { "{\"doubleValue\":\"-Infinity\"}", -INFINITY },
        { "{\"doubleValue\":\"Infinity\"}", INFINITY },
        { "{\"doubleValue\":-0}", -0.0 },
        { "{\"doubleValue\":\"-0\"}", -0.0 },
        { "{\"doubleValue\":100000000000000000000}", 1e20 },
        { "{\"doubleValue\":-100000000000000000000}", -1e20 },
        { "{\"doubleValue\":18446744073709551615}", 18446744073709551615.0 },
        { "{\"doubleValue\":4.9406564584124654e-324}", 4.9406564584124654e-324 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        PB(Common__V1__AnyValue) *v = decode_ok(&PBD(common__v1__any_value), cases[i].json);
        assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
        assert_memory_equal(&v->double_value, &cases[i].want, sizeof(double));
    }
    PB(Common__V1__AnyValue) *v = decode_ok(&PBD(common__v1__any_value), "{\"doubleValue\":\"NaN\"}");
    assert_true(isnan(v->double_value));
}

static void decodes_base64_variants(void **state)
{
    (void)state;
    static const char *const inputs[] = { "\"+/+/AA==\"", "\"-_-_AA\"", "\"+/+/AA\"", "\"-_-_AA==\"" };
    static const uint8_t want[] = { 0xfb, 0xff, 0xbf, 0x00 };
    char json[64];
    for (size_t i = 0; i < 4; i++) {
        snprintf(json, sizeof(json), "{\"bytesValue\":%s}", inputs[i]);
        PB(Common__V1__AnyValue) *v = decode_ok(&PBD(common__v1__any_value), json);
        assert_int_equal(v->bytes_value.len, 4);
        assert_memory_equal(v->bytes_value.data, want, 4);
    }
    PB(Common__V1__AnyValue) *v = decode_ok(&PBD(common__v1__any_value), "{\"bytesValue\":\"QUJD\"}");
    assert_memory_equal(v->bytes_value.data, "ABC", 3);
    assert_string_equal(encode(&av_bytes("ABCD", 4)->base), "{\"bytesValue\":\"QUJDRA==\"}");
    assert_string_equal(encode(&av_bytes("ABCDE", 5)->base), "{\"bytesValue\":\"QUJDREU=\"}");
}

static void ignores_unknown_fields(void **state)
{
    (void)state;
    ProtobufCMessage *m = decode_ok(
        TRACES_REQ, "{\"unknown\":{\"a\":[1,2,{\"b\":null}]},\"resourceSpans\":[{\"what\":1,\"resource\":"
                    "{\"attributes\":[{\"key\":\"k\",\"extra\":[],\"value\":{\"stringValue\":\"v\","
                    "\"futureValue\":{\"x\":true}}}]},\"scopeSpans\":[{\"spans\":[{\"name\":\"s\","
                    "\"newField\":\"0xZZ\",\"traceId\":\"0102030405060708090a0b0c0d0e0f10\"}]}]}],"
                    "\"trailing\":\"x\"}");
    assert_string_equal(encode(m), "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"k\","
                                   "\"value\":{\"stringValue\":\"v\"}}]},\"scopeSpans\":[{\"spans\":[{"
                                   "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"name\":\"s\"}]}]}]}");
}

static void accepts_snake_case_and_null(void **state)
{
    (void)state;
    ProtobufCMessage *m = decode_ok(
        TRACES_REQ, "{\"resource_spans\":[{\"scope_spans\":[{\"spans\":[{\"trace_id\":"
                    "\"0102030405060708090a0b0c0d0e0f10\",\"parent_span_id\":\"a1a2a3a4a5a6a7a8\","
                    "\"start_time_unix_nano\":\"5\",\"dropped_attributes_count\":2,\"name\":null,"
                    "\"status\":null,\"events\":null,\"kind\":\"SPAN_KIND_INTERNAL\"}]}],\"schema_url\":\"u\"}]}");
    assert_string_equal(encode(m), "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
                                   "\"0102030405060708090a0b0c0d0e0f10\",\"parentSpanId\":\"a1a2a3a4a5a6a7a8\","
                                   "\"kind\":1,\"startTimeUnixNano\":\"5\",\"droppedAttributesCount\":2}]}],"
                                   "\"schemaUrl\":\"u\"}]}");
}

static void oneof_last_member_wins(void **state)
{
    (void)state;
    PB(Common__V1__AnyValue) *v = decode_ok(&PBD(common__v1__any_value),
                                            "{\"stringValue\":\"s\",\"arrayValue\":{\"values\":[]},\"intValue\":\"9\"}");
    assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
    assert_int_equal(v->int_value, 9);
    v = decode_ok(&PBD(common__v1__any_value), "{\"intValue\":\"9\",\"kvlistValue\":{}}");
    assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE);
    assert_non_null(v->kvlist_value);
    v = decode_ok(&PBD(common__v1__any_value), "{\"intValue\":\"9\",\"stringValue\":null}");
    assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
    PB(Metrics__V1__HistogramDataPoint) *p =
        decode_ok(&PBD(metrics__v1__histogram_data_point), "{\"sum\":0,\"max\":\"NaN\"}");
    assert_int_equal(p->_sum_case, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM);
    assert_int_equal(p->_min_case, 0);
    assert_int_equal(p->_max_case, OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___MAX_MAX);
    assert_string_equal(encode(&p->base), "{\"sum\":0,\"max\":\"NaN\"}");
}

/* A value nested depth levels deep inside an unknown key: {"x":[[...]]}. */
static char *nested_arrays(size_t depth)
{
    char *s = oca_arena_alloc(arena, 2 * depth + 8), *p = s;
    p += sprintf(p, "{\"x\":");
    for (size_t i = 0; i < depth; i++)
        *p++ = '[';
    for (size_t i = 0; i < depth; i++)
        *p++ = ']';
    strcpy(p, "}");
    return s;
}

static void limits_nesting(void **state)
{
    (void)state;
    decode_ok(TRACES_REQ, nested_arrays(63));
    expect_error(TRACES_REQ, nested_arrays(64), "invalid JSON at offset 68: nesting deeper than 64 levels");
    expect_error(TRACES_REQ, nested_arrays(100000), "invalid JSON at offset 68: nesting deeper than 64 levels");

    /* Fifteen levels of AnyValue arrays fit in the limit. */
    PB(Common__V1__AnyValue) *v = av_str("leaf");
    for (int i = 0; i < 15; i++)
        v = av_array(1, ptrs(1, v));
    assert_round_trip(&v->base);
}

static void reports_errors_with_paths(void **state)
{
    (void)state;
    static const struct {
        const ProtobufCMessageDescriptor *desc;
        const char *json, *message;
    } cases[] = {
        { TRACES_REQ, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{},{},{\"traceId\":"
                      "\"0102030405060708090a0b0c0d0e0f1\"}]}]}]}",
          "resourceSpans[0].scopeSpans[0].spans[2].traceId: expected 32 hex digits, got 31" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"spanId\":\"00000000000000zz\"}]}]}]}",
          "resourceSpans[0].scopeSpans[0].spans[0].spanId: invalid hex digit 'z' at position 14" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"parent_span_id\":\"0011223344556677 \"}]}]}]}",
          "resourceSpans[0].scopeSpans[0].spans[0].parent_span_id: expected 16 hex digits, got 17" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"links\":[{\"spanId\":\"001122334455667\\u00e9\"}]}]}]}]}",
          "resourceSpans[0].scopeSpans[0].spans[0].links[0].spanId: expected 16 hex digits, got 17" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":7}]}]}]}",
          "resourceSpans[0].scopeSpans[0].spans[0].traceId: expected a string" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"b\",\"value\":"
                      "{\"bytesValue\":\"QUJ$\"}}]}}]}",
          "resourceSpans[0].resource.attributes[0].value.bytesValue: invalid base64" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{},{\"value\":{\"bytesValue\":\"QUJDR\"}}]}}]}",
          "resourceSpans[0].resource.attributes[1].value.bytesValue: invalid base64" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"value\":{\"bytesValue\":\"QQ=\"}}]}}]}",
          "resourceSpans[0].resource.attributes[0].value.bytesValue: invalid base64" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":\"host-1\"}]}",
          "resourceSpans[0].resource: expected an object" },
        { TRACES_REQ, "{\"resourceSpans\":[7]}", "resourceSpans[0]: expected an object" },
        { TRACES_REQ, "{\"resourceSpans\":{}}", "resourceSpans: expected an array" },
        { TRACES_REQ, "[]", "expected an object" },
        { TRACES_REQ, "null", "expected an object" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"value\":{\"intValue\":1.5}}]}}]}",
          "resourceSpans[0].resource.attributes[0].value.intValue: expected an integer, got 1.5" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"value\":{\"intValue\":\"1.5\"}}]}}]}",
          "resourceSpans[0].resource.attributes[0].value.intValue: expected an integer, got \"1.5\"" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"value\":{\"intValue\":\"12a\"}}]}}]}",
          "resourceSpans[0].resource.attributes[0].value.intValue: expected an integer, got \"12a\"" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"value\":{\"intValue\":true}}]}}]}",
          "resourceSpans[0].resource.attributes[0].value.intValue: expected an integer" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"droppedAttributesCount\":4294967296}}]}",
          "resourceSpans[0].resource.droppedAttributesCount: 4294967296 is out of range for uint32" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"droppedAttributesCount\":-1}}]}",
          "resourceSpans[0].resource.droppedAttributesCount: -1 is out of range for uint32" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"value\":{\"intValue\":\"9223372036854775808\"}}]}}]}",
          "resourceSpans[0].resource.attributes[0].value.intValue: \"9223372036854775808\" is out of range for int64" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"value\":{\"intValue\":-9223372036854775809}}]}}]}",
          "resourceSpans[0].resource.attributes[0].value.intValue: -9223372036854775809 is out of range for int64" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":18446744073709551616}]}]}]}",
          "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: 18446744073709551616 is out of range for fixed64" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"endTimeUnixNano\":\"-1\"}]}]}]}",
          "resourceSpans[0].scopeSpans[0].spans[0].endTimeUnixNano: \"-1\" is out of range for fixed64" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"endTimeUnixNano\":1e30}]}]}]}",
          "resourceSpans[0].scopeSpans[0].spans[0].endTimeUnixNano: 1e30 is out of range for fixed64" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":\"SPAN_KIND_NOPE\"}]}]}]}",
          "resourceSpans[0].scopeSpans[0].spans[0].kind: unknown opentelemetry.proto.trace.v1.Span.SpanKind "
          "value \"SPAN_KIND_NOPE\"" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":2147483648}]}]}]}",
          "resourceSpans[0].scopeSpans[0].spans[0].kind: 2147483648 is out of range for int32" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":5}]}]}]}",
          "resourceSpans[0].scopeSpans[0].spans[0].name: expected a string" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"a\\u0000b\"}]}]}]}",
          "resourceSpans[0].scopeSpans[0].spans[0].name: string contains a NUL character" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"\xED\xA0\x80\"}]}]}]}",
          "resourceSpans[0].scopeSpans[0].spans[0].name: string is not valid UTF-8" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"value\":{\"boolValue\":\"true\"}}]}}]}",
          "resourceSpans[0].resource.attributes[0].value.boolValue: expected true or false" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"value\":{\"doubleValue\":\"fast\"}}]}}]}",
          "resourceSpans[0].resource.attributes[0].value.doubleValue: expected a number, got \"fast\"" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"value\":{\"doubleValue\":1e999}}]}}]}",
          "resourceSpans[0].resource.attributes[0].value.doubleValue: 1e999 is out of range for a double" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"value\":{\"arrayValue\":{\"values\":[{},null]}}}]}}]}",
          "resourceSpans[0].resource.attributes[0].value.arrayValue.values[1]: expected an object" },
        { METRICS_REQ, "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"histogram\":{\"dataPoints\":"
                       "[{\"bucketCounts\":[\"1\",2,-3]}]}}]}]}]}",
          "resourceMetrics[0].scopeMetrics[0].metrics[0].histogram.dataPoints[0].bucketCounts[2]: "
          "-3 is out of range for fixed64" },
        { METRICS_REQ, "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"sum\":{\"dataPoints\":"
                       "[{\"exemplars\":[{\"traceId\":\"xx\"}]}]}}]}]}]}",
          "resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0].exemplars[0].traceId: "
          "expected 32 hex digits, got 2" },
        { LOGS_REQ, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"spanId\":\"0011223344556677\","
                    "\"traceId\":\"g0000000000000000000000000000000\"}]}]}]}",
          "resourceLogs[0].scopeLogs[0].logRecords[0].traceId: invalid hex digit 'g' at position 0" },
        { TRACES_REQ, "{} x", "invalid JSON at offset 3: unexpected character" },
        { TRACES_REQ, "{}}", "invalid JSON at offset 2: unexpected character" },
        { TRACES_REQ, "{\"resourceSpans\":[", "invalid JSON at offset 18: unexpected end of input" },
        { TRACES_REQ, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"tru",
          "invalid JSON at offset 56: unexpected end of input" },
        { TRACES_REQ, "", "invalid JSON at offset 0: unexpected end of input" },
        { TRACES_REQ, "{'a':1}", "invalid JSON at offset 1: unexpected character" },
        { TRACES_REQ, "{\"a\":\"'\",'b':1}", "invalid JSON at offset 9: unexpected character" },
        { TRACES_REQ, "{a:1}", "invalid JSON at offset 1: quoted object property name expected" },
        { TRACES_REQ, "{\"a\":[1,]}", "invalid JSON at offset 8: unexpected character" },
        { TRACES_REQ, "{\"a\":[100000000000000000000,]}", "invalid JSON at offset 28: unexpected character" },
        { TRACES_REQ, "{\"a\":\"\xff\"}", "invalid JSON at offset 6: invalid utf-8 string" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(cases[i].desc, cases[i].json, cases[i].message);
}

static void reads_only_len_bytes(void **state)
{
    (void)state;
    /* The input is not NUL-terminated: what follows len must not be read. */
    static const char text[] = "{\"resourceSpans\":[]}GARBAGE";
    char *copy = malloc(20);
    memcpy(copy, text, 20);
    ProtobufCMessage *m = NULL;
    char err[128];
    assert_int_equal(oca_otlp_json_decode(TRACES_REQ, copy, 20, arena, &m, err, sizeof(err)), OCA_OK);
    free(copy);
    assert_string_equal(encode(m), "{}");
    /* A tiny error buffer still gets a terminated (truncated) message; none at all is fine too. */
    char small[8];
    expect_error(TRACES_REQ, "{\"resourceSpans\":[", "invalid JSON at offset 18: unexpected end of input");
    assert_int_equal(oca_otlp_json_decode(TRACES_REQ, "{\"resourceSpans\":{}}", 20, arena, &m, small, sizeof(small)),
                     OCA_ERR_JSON);
    assert_string_equal(small, "resourc");
    assert_int_equal(oca_otlp_json_decode(TRACES_REQ, "[", 1, arena, &m, NULL, 0), OCA_ERR_JSON);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip_traces, setup, teardown),
        cmocka_unit_test_setup_teardown(round_trip_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(round_trip_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(encodes_exact_span_text, setup, teardown),
        cmocka_unit_test_setup_teardown(encodes_set_oneof_members_at_default, setup, teardown),
        cmocka_unit_test_setup_teardown(encodes_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(escapes_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(decodes_upper_case_hex, setup, teardown),
        cmocka_unit_test_setup_teardown(decodes_enum_names, setup, teardown),
        cmocka_unit_test_setup_teardown(decodes_integers_as_numbers_and_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(decodes_doubles, setup, teardown),
        cmocka_unit_test_setup_teardown(decodes_base64_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(ignores_unknown_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(accepts_snake_case_and_null, setup, teardown),
        cmocka_unit_test_setup_teardown(oneof_last_member_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(limits_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(reports_errors_with_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(reads_only_len_bytes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
