/* Tests of processors/batch.c: sending on size and on timeout (through a real loop), splitting by
 * send_batch_max_size down to the points of a metric while keeping every item once and in order
 * under its own resource and scope, the shutdown flush, and what is counted; and raw-only batches
 * (encoded requests), which go out concatenated, whole, and decode to the merge the decoded path
 * builds, a raw request larger than the maximum being decoded and split. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/arena.h"
#include "base/errors.h"
#include "config/diag.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"

extern const struct oca_component_type oca_batch_processor;

typedef Opentelemetry__Proto__Trace__V1__ResourceSpans ResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans ScopeSpans;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics ResourceMetrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics ScopeMetrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Metrics__V1__Gauge Gauge;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint NumberDataPoint;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs ResourceLogs;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs ScopeLogs;
typedef Opentelemetry__Proto__Logs__V1__LogRecord LogRecord;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope Scope;

static void setup(struct oca_test_harness *h, const char *yaml)
{
    memset(h, 0, sizeof(*h));
    oca_test_harness_init(h, &oca_batch_processor, "batch", yaml, "processors.batch");
    assert_int_equal(oca_batch_processor.start(&h->comp, &h->loop), OCA_OK);
}

static int seq;     /* names items in creation order */

static char *name(struct oca_arena *a, const char *what)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%s-%d", what, seq++);
    return oca_arena_strdup(a, tmp);
}

/* Splits spec at each sep into parts (pointers into spec, each running to the end of spec). */
static size_t split_spec(const char *spec, char sep, const char **parts, size_t max)
{
    size_t n = 0;
    parts[n++] = spec;
    for (const char *p = spec; *p; p++)
        if (*p == sep) {
            assert_true(n < max);
            parts[n++] = p + 1;
        }
    return n;
}

static size_t count_until(const char *p, char stop)
{
    size_t n = 0;
    while (p[n] && p[n] != stop)
        n++;
    return n;
}

static Resource *make_resource(struct oca_arena *a)
{
    Resource *r = oca_arena_zalloc(a, sizeof(*r));
    opentelemetry__proto__resource__v1__resource__init(r);
    return r;
}

static Scope *make_scope(struct oca_arena *a)
{
    Scope *s = oca_arena_zalloc(a, sizeof(*s));
    opentelemetry__proto__common__v1__instrumentation_scope__init(s);
    s->name = name(a, "scope");
    return s;
}

/* A span or log record, named in creation order. */
static ProtobufCMessage *make_item(struct oca_arena *a, enum oca_signal sig)
{
    if (sig == OCA_SIGNAL_TRACES) {
        Span *sp = oca_arena_zalloc(a, sizeof(*sp));
        opentelemetry__proto__trace__v1__span__init(sp);
        sp->name = name(a, "span");
        return &sp->base;
    }
    LogRecord *lr = oca_arena_zalloc(a, sizeof(*lr));
    opentelemetry__proto__logs__v1__log_record__init(lr);
    lr->severity_text = name(a, "log");
    return &lr->base;
}

/* A gauge named in creation order, with n_points points whose values number them the same way. */
static ProtobufCMessage *make_gauge(struct oca_arena *a, size_t n_points)
{
    Metric *m = oca_arena_zalloc(a, sizeof(*m));
    opentelemetry__proto__metrics__v1__metric__init(m);
    m->name = name(a, "metric");
    m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    m->gauge = oca_arena_zalloc(a, sizeof(Gauge));
    opentelemetry__proto__metrics__v1__gauge__init(m->gauge);
    m->gauge->n_data_points = n_points;
    m->gauge->data_points = oca_arena_zalloc(a, (n_points + 1) * sizeof(NumberDataPoint *));
    for (size_t p = 0; p < n_points; p++) {
        NumberDataPoint *dp = oca_arena_zalloc(a, sizeof(*dp));
        opentelemetry__proto__metrics__v1__number_data_point__init(dp);
        dp->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
        dp->as_int = seq++;
        m->gauge->data_points[p] = dp;
    }
    return &m->base;
}

/* The items of one scope entry from its part of the spec (see make_request); *n gets their count. */
static ProtobufCMessage **make_items(struct oca_arena *a, enum oca_signal sig, const char *spec, size_t *n)
{
    ProtobufCMessage **items;
    if (sig != OCA_SIGNAL_METRICS) {
        *n = (size_t)atoi(spec);
        items = *n ? oca_arena_zalloc(a, *n * sizeof(*items)) : NULL;
        for (size_t k = 0; k < *n; k++)
            items[k] = make_item(a, sig);
        return items;
    }
    char part[256];
    snprintf(part, sizeof(part), "%.*s", (int)count_until(spec, ';'), spec);
    const char *ms[64];
    *n = split_spec(part, ',', ms, 64);
    items = oca_arena_zalloc(a, *n * sizeof(*items));
    for (size_t k = 0; k < *n; k++)
        items[k] = make_gauge(a, (size_t)atoi(ms[k]));
    return items;
}

/* A request of sig described by spec, with resources separated by '|'. In traces and logs a
 * resource is a comma list of item counts, one per scope ("3,0|2|"; "" is a resource without
 * scopes). In metrics its scopes are separated by ';' and each is a comma list of point counts,
 * one gauge per count ("7,2;3|1"). Every entry has its own Resource or InstrumentationScope. */
static struct oca_batch *make_request(enum oca_signal sig, const char *spec)
{
    struct oca_batch *b = oca_batch_new(sig);
    struct oca_arena *a = b->arena;
    const struct oca_otlp_level *lv = oca_batch_levels(sig);
    const char *res[64];
    size_t nr = split_spec(spec, '|', res, 64);
    ProtobufCMessage **rv = oca_arena_zalloc(a, nr * sizeof(*rv));
    for (size_t i = 0; i < nr; i++) {
        rv[i] = oca_test_new_message(a, lv[OCA_LEVEL_RESOURCES].child);
        *oca_batch_entry_head(&lv[OCA_LEVEL_RESOURCES], rv[i]) = &make_resource(a)->base;
        char part[256];
        snprintf(part, sizeof(part), "%.*s", (int)count_until(res[i], '|'), res[i]);
        if (sig != OCA_SIGNAL_METRICS && part[0] == '\0')
            continue;
        const char *sc[64];
        size_t ns = split_spec(part, sig == OCA_SIGNAL_METRICS ? ';' : ',', sc, 64);
        ProtobufCMessage **sv = oca_arena_zalloc(a, ns * sizeof(*sv));
        for (size_t j = 0; j < ns; j++) {
            sv[j] = oca_test_new_message(a, lv[OCA_LEVEL_SCOPES].child);
            *oca_batch_entry_head(&lv[OCA_LEVEL_SCOPES], sv[j]) = &make_scope(a)->base;
            size_t n;
            ProtobufCMessage **items = make_items(a, sig, sc[j], &n);
            oca_batch_set_children(&lv[OCA_LEVEL_ITEMS], sv[j], items, n);
        }
        oca_batch_set_children(&lv[OCA_LEVEL_SCOPES], rv[i], sv, ns);
    }
    oca_batch_set_children(&lv[OCA_LEVEL_RESOURCES], b->msg, rv, nr);
    b->items = oca_batch_count_items(sig, b->msg);
    return b;
}

static struct oca_batch *make_traces(const char *spec) { return make_request(OCA_SIGNAL_TRACES, spec); }
static struct oca_batch *make_logs(const char *spec) { return make_request(OCA_SIGNAL_LOGS, spec); }
static struct oca_batch *make_metrics(const char *spec) { return make_request(OCA_SIGNAL_METRICS, spec); }

/* An item and the resource and scope (and for metrics, metric name) it was found under. */
struct placed {
    const void *item, *resource, *scope;
    const char *metric;
};

static size_t flatten(const struct oca_batch *b, struct placed *out, size_t n)
{
    if (b->signal == OCA_SIGNAL_TRACES) {
        for (size_t i = 0; i < b->traces->n_resource_spans; i++) {
            const ResourceSpans *rs = b->traces->resource_spans[i];
            for (size_t j = 0; j < rs->n_scope_spans; j++)
                for (size_t k = 0; k < rs->scope_spans[j]->n_spans; k++)
                    out[n++] = (struct placed){ rs->scope_spans[j]->spans[k], rs->resource, rs->scope_spans[j]->scope, NULL };
        }
    } else if (b->signal == OCA_SIGNAL_LOGS) {
        for (size_t i = 0; i < b->logs->n_resource_logs; i++) {
            const ResourceLogs *rl = b->logs->resource_logs[i];
            for (size_t j = 0; j < rl->n_scope_logs; j++)
                for (size_t k = 0; k < rl->scope_logs[j]->n_log_records; k++)
                    out[n++] = (struct placed){ rl->scope_logs[j]->log_records[k], rl->resource, rl->scope_logs[j]->scope, NULL };
        }
    } else {
        for (size_t i = 0; i < b->metrics->n_resource_metrics; i++) {
            const ResourceMetrics *rm = b->metrics->resource_metrics[i];
            for (size_t j = 0; j < rm->n_scope_metrics; j++)
                for (size_t k = 0; k < rm->scope_metrics[j]->n_metrics; k++) {
                    const Metric *m = rm->scope_metrics[j]->metrics[k];
                    for (size_t p = 0; p < m->gauge->n_data_points; p++)
                        out[n++] = (struct placed){ m->gauge->data_points[p], rm->resource, rm->scope_metrics[j]->scope, m->name };
                }
        }
    }
    return n;
}

/* Within one outgoing request every original resource appears once, and within a resource entry
 * every original scope once. */
static void check_no_repeats(const struct oca_batch *b)
{
    size_t nr = oca_batch_resource_count(b);
    for (size_t i = 0; i < nr; i++) {
        const void *ri, *si, *sj;
        size_t ns;
        if (b->signal == OCA_SIGNAL_TRACES) {
            ri = b->traces->resource_spans[i]->resource;
            ns = b->traces->resource_spans[i]->n_scope_spans;
        } else if (b->signal == OCA_SIGNAL_LOGS) {
            ri = b->logs->resource_logs[i]->resource;
            ns = b->logs->resource_logs[i]->n_scope_logs;
        } else {
            ri = b->metrics->resource_metrics[i]->resource;
            ns = b->metrics->resource_metrics[i]->n_scope_metrics;
        }
        for (size_t j = i + 1; j < nr; j++) {
            const void *rj = b->signal == OCA_SIGNAL_TRACES ? (const void *)b->traces->resource_spans[j]->resource
                           : b->signal == OCA_SIGNAL_LOGS   ? (const void *)b->logs->resource_logs[j]->resource
                                                            : (const void *)b->metrics->resource_metrics[j]->resource;
            assert_ptr_not_equal(ri, rj);
        }
        for (size_t x = 0; x < ns; x++)
            for (size_t y = x + 1; y < ns; y++) {
                if (b->signal == OCA_SIGNAL_TRACES) {
                    si = b->traces->resource_spans[i]->scope_spans[x]->scope;
                    sj = b->traces->resource_spans[i]->scope_spans[y]->scope;
                } else if (b->signal == OCA_SIGNAL_LOGS) {
                    si = b->logs->resource_logs[i]->scope_logs[x]->scope;
                    sj = b->logs->resource_logs[i]->scope_logs[y]->scope;
                } else {
                    si = b->metrics->resource_metrics[i]->scope_metrics[x]->scope;
                    sj = b->metrics->resource_metrics[i]->scope_metrics[y]->scope;
                }
                assert_ptr_not_equal(si, sj);
            }
    }
}

/* Everything the fake received, in order, is exactly `expected`. */
static void check_received(struct oca_test_harness *h, const struct placed *expected, size_t n_expected, size_t max)
{
    struct placed *got = calloc(n_expected + 64, sizeof(*got));
    size_t n = 0;
    for (size_t k = 0; k < h->fake.n; k++) {
        size_t before = n;
        assert_true(n + h->fake.got[k]->items <= n_expected + 64);
        n = flatten(h->fake.got[k], got, n);
        assert_int_equal(n - before, h->fake.got[k]->items);
        if (max)
            assert_true(h->fake.got[k]->items <= max);
        check_no_repeats(h->fake.got[k]);
        /* The outgoing request encodes like any other (the held batches keep its memory alive). */
        size_t len;
        free(oca_batch_pack(h->fake.got[k], &len));
    }
    assert_int_equal(n, n_expected);
    for (size_t k = 0; k < n; k++) {
        assert_ptr_equal(got[k].item, expected[k].item);
        assert_ptr_equal(got[k].resource, expected[k].resource);
        assert_ptr_equal(got[k].scope, expected[k].scope);
        if (expected[k].metric)
            assert_string_equal(got[k].metric, expected[k].metric);
    }
    free(got);
}

static void test_size_trigger(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "send_batch_size: 10\ntimeout: 10s\n");
    struct placed expected[32];
    size_t ne = 0;
    struct oca_batch *a = make_traces("2,2"), *b = make_traces("3|4");
    ne = flatten(a, expected, ne);
    ne = flatten(b, expected, ne);
    assert_int_equal(oca_test_consume(&h, a), OCA_OK);
    assert_int_equal(h.fake.n, 0);
    assert_int_equal(oca_test_consume(&h, b), OCA_OK);
    /* 11 >= 10: sent at once, all of it (no max size). */
    assert_int_equal(h.fake.n, 1);
    assert_int_equal(h.fake.got[0]->items, 11);
    assert_int_equal(oca_batch_resource_count(h.fake.got[0]), 3);
    check_received(&h, expected, ne, 0);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_TRACES], 11);
    oca_test_harness_free(&h);
}

static bool got_one(void *arg) { return ((struct oca_test_harness *)arg)->fake.n >= 1; }

static void test_timeout_trigger(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "send_batch_size: 100\ntimeout: 30ms\n");
    struct placed expected[8];
    struct oca_batch *a = make_traces("3");
    size_t ne = flatten(a, expected, 0);
    uint64_t t0 = uv_hrtime();
    assert_int_equal(oca_test_consume(&h, a), OCA_OK);
    assert_int_equal(h.fake.n, 0);
    assert_true(oca_test_run_until(&h.loop, got_one, &h, 5000));
    assert_true(uv_hrtime() - t0 >= 25 * 1000000ull);
    assert_int_equal(h.fake.n, 1);
    check_received(&h, expected, ne, 0);
    oca_test_harness_free(&h);
}

static void test_max_size_split_traces(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "send_batch_size: 10\nsend_batch_max_size: 10\ntimeout: 10s\n");
    static struct placed expected[256];
    size_t ne = 0;
    const char *specs[] = { "7,0,3|2|", "13", "1,1,1,1|0|5,6", "2", "9|9|9" };
    for (size_t k = 0; k < 5; k++) {
        struct oca_batch *b = make_traces(specs[k]);
        ne = flatten(b, expected, ne);
        assert_int_equal(oca_test_consume(&h, b), OCA_OK);
    }
    assert_int_equal(ne, 69);
    /* Six full batches went out on size; nine items wait for the timeout or shutdown. */
    assert_int_equal(h.fake.n, 6);
    for (size_t k = 0; k < h.fake.n; k++)
        assert_int_equal(h.fake.got[k]->items, 10);
    h.comp.type->shutdown(&h.comp, oca_test_on_done);
    assert_true(oca_test_run_until(&h.loop, oca_test_done_called, &h, 5000));
    assert_int_equal(h.done_calls, 1);
    assert_int_equal(h.fake.n, 7);
    assert_int_equal(h.fake.got[6]->items, 9);
    check_received(&h, expected, ne, 10);
    oca_test_harness_free(&h);
}

static void test_shutdown_flush_and_twice(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, NULL);
    struct placed expected[16];
    struct oca_batch *a = make_logs("2,1"), *b = make_traces("4");
    size_t ne = flatten(b, expected, 0);
    assert_int_equal(oca_test_consume(&h, a), OCA_OK);
    assert_int_equal(oca_test_consume(&h, b), OCA_OK);
    assert_int_equal(h.fake.n, 0);
    h.comp.type->shutdown(&h.comp, oca_test_on_done);
    /* The flush is synchronous; done follows once the timers are closed. */
    assert_int_equal(h.fake.n, 2);
    h.comp.type->shutdown(&h.comp, oca_test_on_done);
    assert_true(oca_test_run_until(&h.loop, oca_test_done_called, &h, 5000));
    uv_run(&h.loop, UV_RUN_NOWAIT);
    assert_int_equal(h.done_calls, 2);
    h.comp.type->shutdown(&h.comp, oca_test_on_done);
    assert_int_equal(h.done_calls, 3);
    size_t traces_at = h.fake.got[0]->signal == OCA_SIGNAL_TRACES ? 0 : 1;
    assert_int_equal(h.fake.got[traces_at]->items, 4);
    assert_int_equal(h.fake.got[1 - traces_at]->items, 3);
    struct placed got[16];
    assert_int_equal(flatten(h.fake.got[traces_at], got, 0), ne);
    for (size_t k = 0; k < ne; k++)
        assert_ptr_equal(got[k].item, expected[k].item);
    oca_test_harness_free(&h);
}

static void test_shutdown_without_start(void **state)
{
    (void)state;
    struct oca_test_harness h;
    memset(&h, 0, sizeof(h));
    oca_test_harness_init(&h, &oca_batch_processor, "batch", NULL, "batch");
    oca_batch_processor.shutdown(&h.comp, oca_test_on_done);
    oca_batch_processor.shutdown(&h.comp, oca_test_on_done);
    assert_int_equal(h.done_calls, 2);
    oca_test_harness_free(&h);
}

struct count_cond {
    struct oca_test_harness *h;
    size_t n;
};

static bool got_n(void *arg)
{
    struct count_cond *c = arg;
    return c->h->fake.n >= c->n;
}

static void test_metrics_split_points(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "send_batch_size: 3\nsend_batch_max_size: 3\ntimeout: 20ms\n");
    static struct placed expected[64];
    size_t ne = 0;
    struct oca_batch *a = make_metrics("7"), *b = make_metrics("1,0,2;4|2");
    ne = flatten(a, expected, ne);
    ne = flatten(b, expected, ne);
    assert_int_equal(oca_test_consume(&h, a), OCA_OK);
    /* 7 points of one metric: two requests of 3 at once, the last point waits. */
    assert_int_equal(h.fake.n, 2);
    assert_int_equal(oca_test_consume(&h, b), OCA_OK);
    /* 1 + 9 = 10 pending: three more requests of 3; one point waits for the timer. */
    assert_int_equal(h.fake.n, 5);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_METRICS], 16);
    struct count_cond c = { &h, 6 };
    assert_true(oca_test_run_until(&h.loop, got_n, &c, 5000));
    assert_int_equal(h.fake.n, 6);
    assert_int_equal(h.fake.got[5]->items, 1);
    check_received(&h, expected, ne, 3);
    /* The metric with 0 points went out with its neighbours rather than being lost. */
    size_t metrics = 0;
    for (size_t k = 0; k < h.fake.n; k++)
        for (size_t i = 0; i < h.fake.got[k]->metrics->n_resource_metrics; i++)
            for (size_t j = 0; j < h.fake.got[k]->metrics->resource_metrics[i]->n_scope_metrics; j++)
                for (size_t m = 0; m < h.fake.got[k]->metrics->resource_metrics[i]->scope_metrics[j]->n_metrics; m++)
                    if (h.fake.got[k]->metrics->resource_metrics[i]->scope_metrics[j]->metrics[m]->gauge->n_data_points == 0)
                        metrics++;
    assert_int_equal(metrics, 1);
    oca_test_harness_free(&h);
}

static void test_logs_counting(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "send_batch_size: 5\nsend_batch_max_size: 8\ntimeout: 10s\n");
    static struct placed expected[64];
    size_t ne = 0;
    struct oca_batch *a = make_logs("20|3");
    ne = flatten(a, expected, ne);
    assert_int_equal(oca_test_consume(&h, a), OCA_OK);
    /* 23 pending, sent in 8s while at least 5 wait: 8, 8, then 7 >= 5 goes too. */
    assert_int_equal(h.fake.n, 3);
    assert_int_equal(h.fake.got[0]->items, 8);
    assert_int_equal(h.fake.got[1]->items, 8);
    assert_int_equal(h.fake.got[2]->items, 7);
    check_received(&h, expected, ne, 8);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_LOGS], 23);
    assert_int_equal(h.counters.items[OCA_EDGE_DROPPED][OCA_SIGNAL_LOGS], 0);
    oca_test_harness_free(&h);
}

static void test_downstream_error_counts_dropped(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "send_batch_size: 4\ntimeout: 10s\n");
    h.fake.refuse_with = OCA_ERR_QUEUE_FULL;
    h.fake.refuse_left = 1;
    assert_int_equal(oca_test_consume(&h, make_traces("5")), OCA_OK);
    assert_int_equal(h.fake.calls, 1);
    assert_int_equal(h.fake.n, 0);
    assert_int_equal(h.counters.items[OCA_EDGE_DROPPED][OCA_SIGNAL_TRACES], 5);
    /* Nothing is kept for a retry: the next batch goes alone. */
    assert_int_equal(oca_test_consume(&h, make_traces("4")), OCA_OK);
    assert_int_equal(h.fake.n, 1);
    assert_int_equal(h.fake.got[0]->items, 4);
    oca_test_harness_free(&h);
}

static void test_timeout_zero_passes_through(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "timeout: 0s\nsend_batch_size: 2\nsend_batch_max_size: 4\n");
    static struct placed expected[32];
    struct oca_batch *a = make_traces("1");
    size_t ne = flatten(a, expected, 0);
    assert_int_equal(oca_test_consume(&h, a), OCA_OK);
    assert_int_equal(h.fake.n, 1);
    struct oca_batch *b = make_traces("3,3|3");
    ne = flatten(b, expected, ne);
    assert_int_equal(oca_test_consume(&h, b), OCA_OK);
    assert_int_equal(h.fake.n, 4);
    check_received(&h, expected, ne, 4);
    h.fake.refuse_with = OCA_ERR_QUEUE_FULL;
    h.fake.refuse_left = 1;
    assert_int_equal(oca_test_consume(&h, make_traces("2")), OCA_ERR_QUEUE_FULL);
    assert_int_equal(h.counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_TRACES], 2);
    assert_int_equal(h.counters.items[OCA_EDGE_DROPPED][OCA_SIGNAL_TRACES], 0);
    oca_test_harness_free(&h);
}

/* The raw-only twin of b (its encoding, no structs); b is dropped. */
static struct oca_batch *to_raw(struct oca_batch *b)
{
    struct oca_batch *r = oca_batch_new_raw(b->signal);
    size_t len;
    r->raw_block = oca_batch_pack(b, &len);
    r->raw_free = free;
    oca_batch_add_raw(r, r->raw_block, len);
    r->items = b->items;
    oca_batch_unref(b);
    return r;
}

/* Appends the span names of b (decoded if raw) to out at *n, each followed by a space. */
static void names_of(struct oca_batch *b, char *out, size_t size, size_t *n)
{
    struct oca_batch *d = oca_batch_decoded(b);
    for (size_t i = 0; i < d->traces->n_resource_spans; i++)
        for (size_t j = 0; j < d->traces->resource_spans[i]->n_scope_spans; j++) {
            ScopeSpans *ss = d->traces->resource_spans[i]->scope_spans[j];
            for (size_t s = 0; s < ss->n_spans; s++)
                *n += (size_t)snprintf(out + *n, size - *n, "%s ", ss->spans[s]->name);
        }
    oca_batch_unref(d);
}

static void test_raw_concatenation_decodes_to_the_merge(void **state)
{
    (void)state;
    struct oca_test_harness hr, hd;
    setup(&hr, "send_batch_size: 10\ntimeout: 10s\n");
    setup(&hd, "send_batch_size: 10\ntimeout: 10s\n");
    const char *specs[] = { "2,0|", "3|4", "2" };
    for (size_t k = 0; k < 3; k++) {
        int at = seq;
        struct oca_batch *b = make_traces(specs[k]);
        seq = at;                                   /* the twin gets the same names */
        assert_int_equal(oca_test_consume(&hr, to_raw(make_traces(specs[k]))), OCA_OK);
        assert_int_equal(oca_test_consume(&hd, b), OCA_OK);
    }
    /* 2 + 7 + 2 = 11 >= 10: both send everything at the third request, as one. */
    assert_int_equal(hr.fake.n, 1);
    assert_int_equal(hd.fake.n, 1);
    struct oca_batch *out = hr.fake.got[0];
    assert_null(out->msg);
    assert_int_equal(out->n_raw, 3);
    assert_int_equal(out->items, 11);
    struct oca_batch *dec = oca_batch_decoded(out);
    assert_int_equal(dec->items, 11);
    oca_test_assert_same_packing(dec->msg, hd.fake.got[0]->msg);
    oca_batch_unref(dec);
    assert_int_equal(hr.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_TRACES], 11);
    oca_test_harness_free(&hr);
    oca_test_harness_free(&hd);
}

static void test_raw_whole_requests_and_max_size(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "send_batch_size: 10\nsend_batch_max_size: 10\ntimeout: 10s\n");
    char want[2048] = "";
    size_t n = 0;
    /* Raw 4 and 5 wait (9); decoded 3 makes 12: out go the two raw ones whole (9), 3 wait;
     * raw 13 is more than the maximum, so it is decoded and split with them; raw 6 and 1 follow. */
    const char *specs[] = { "4", "5", "3", "13", "6", "1" };
    const bool raw[] = { true, true, false, true, true, true };
    for (size_t k = 0; k < 6; k++) {
        struct oca_batch *b = make_traces(specs[k]);
        names_of(b, want, sizeof(want), &n);
        assert_int_equal(oca_test_consume(&h, raw[k] ? to_raw(b) : b), OCA_OK);
    }
    h.comp.type->shutdown(&h.comp, oca_test_on_done);
    assert_true(oca_test_run_until(&h.loop, oca_test_done_called, &h, 5000));
    size_t total = 0;
    for (size_t k = 0; k < h.fake.n; k++) {
        assert_true(h.fake.got[k]->items <= 10);
        total += h.fake.got[k]->items;
    }
    assert_int_equal(total, 32);
    /* The first request is the two raw ones whole: 9 items, not cut to 10. */
    assert_null(h.fake.got[0]->msg);
    assert_int_equal(h.fake.got[0]->items, 9);
    char got[2048];
    size_t m = 0;
    got[0] = '\0';
    for (size_t k = 0; k < h.fake.n; k++)
        names_of(h.fake.got[k], got, sizeof(got), &m);
    assert_string_equal(got, want);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_TRACES], 32);
    oca_test_harness_free(&h);
}

static void test_validate(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    struct oca_diag diag;
    void *cfg;
    oca_diag_init(&diag);
    assert_int_equal(oca_test_decode_config(a, &oca_batch_processor, "send_batch_size: 100\nsend_batch_max_size: 50\n",
                                            "processors.batch", &diag, &cfg), 0);
    assert_int_equal(oca_batch_processor.validate(cfg, &diag), OCA_ERR_CONFIG);
    assert_int_equal(diag.errors, 1);
    assert_non_null(strstr(diag.text.data, "send_batch_max_size"));
    assert_non_null(strstr(diag.text.data, "t.yaml:2"));
    oca_diag_free(&diag);
    oca_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_trigger),
        cmocka_unit_test(test_timeout_trigger),
        cmocka_unit_test(test_max_size_split_traces),
        cmocka_unit_test(test_shutdown_flush_and_twice),
        cmocka_unit_test(test_shutdown_without_start),
        cmocka_unit_test(test_metrics_split_points),
        cmocka_unit_test(test_logs_counting),
        cmocka_unit_test(test_downstream_error_counts_dropped),
        cmocka_unit_test(test_timeout_zero_passes_through),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_raw_concatenation_decodes_to_the_merge),
        cmocka_unit_test(test_raw_whole_requests_and_max_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
