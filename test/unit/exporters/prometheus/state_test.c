/* Tests of exporters/prometheus/state.c: OTLP/JSON requests folded into the series store and the
 * exposition it renders: job/instance/scope labels and target_info, delta accumulation with resets,
 * cumulative histogram buckets, summaries, dropped temporalities and type conflicts, expiry and
 * the max_series bound, sorted (deterministic) output, OpenMetrics with exemplars, and snapshots
 * that outlive expiry and keep their order only while the set of series is unchanged. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "config/fields.h"
#include "exporters/prometheus/state.h"
#include "pipeline/batch.h"

#define RES "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"shop\"}}," \
            "{\"key\":\"service.namespace\",\"value\":{\"stringValue\":\"prod\"}}," \
            "{\"key\":\"service.instance.id\",\"value\":{\"stringValue\":\"i-1\"}}," \
            "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"box\"}}]}," \
            "\"scopeMetrics\":[{\"scope\":{\"name\":\"lib\",\"version\":\"1.0\"},\"metrics\":["
#define END "]}]}"
#define LBL "instance=\"i-1\",job=\"prod/shop\",otel_scope_name=\"lib\",otel_scope_version=\"1.0\""

static struct oca_prom_state_options defaults(void)
{
    return (struct oca_prom_state_options){ .add_suffixes = true, .max_series = 100000, .who = "prometheus" };
}

static size_t add_json(struct oca_prom_state *st, const char *metrics_json, uint64_t now)
{
    char *json = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&json, &len);
    fprintf(f, "{\"resourceMetrics\":[" RES "%s" END "]}", metrics_json);
    fclose(f);
    struct oca_batch *b = NULL;
    char detail[256] = "";
    int err = oca_batch_decode(OCA_SIGNAL_METRICS, OCA_ENCODING_JSON, (const uint8_t *)json, len, &b, detail,
                               sizeof(detail));
    if (err != OCA_OK)
        fail_msg("decode: %s", detail);
    size_t n = oca_prom_state_add(st, b->metrics, now);
    oca_batch_unref(b);
    free(json);
    return n;
}

static char *render(struct oca_prom_state *st)
{
    struct oca_buf out = { 0 };
    oca_prom_state_render(st, OCA_PROM_TEXT, &out);
    return out.data ? out.data : strdup("");
}

static void expect_line(const char *text, const char *line)
{
    char *want = malloc(strlen(line) + 3);
    sprintf(want, "\n%s\n", line);
    bool found = strstr(text, want) != NULL || strncmp(text, want + 1, strlen(want + 1)) == 0;
    if (!found)
        fail_msg("missing line %s in:\n%s", line, text);
    free(want);
}

static void expect_no(const char *text, const char *part)
{
    if (strstr(text, part))
        fail_msg("unexpected %s in:\n%s", part, text);
}

#define SUM(name, temp, mono, pts) \
    "{\"name\":\"" name "\",\"unit\":\"{req}\",\"description\":\"Requests.\",\"sum\":{\"aggregationTemporality\":" \
    #temp ",\"isMonotonic\":" #mono ",\"dataPoints\":[" pts "]}}"
#define PT(start, t, v) "{\"startTimeUnixNano\":\"" #start "\",\"timeUnixNano\":\"" #t "\",\"asInt\":\"" #v "\"}"

static void test_labels_target_info_and_help(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    struct oca_prom_state *st = oca_prom_state_new(&o);
    assert_int_equal(add_json(st,
        "{\"name\":\"cpu.utilization\",\"unit\":\"1\",\"description\":\"CPU\\nshare\",\"gauge\":{\"dataPoints\":["
        "{\"timeUnixNano\":\"10\",\"asDouble\":0.25,\"attributes\":[{\"key\":\"cpu.id\",\"value\":{\"intValue\":\"3\"}},"
        "{\"key\":\"tag\",\"value\":{\"stringValue\":\"a\\\"b\"}}]}]}}", 1), 1);
    char *text = render(st);
    expect_line(text, "# HELP cpu_utilization_ratio CPU\\nshare");
    expect_line(text, "# TYPE cpu_utilization_ratio gauge");
    expect_line(text, "cpu_utilization_ratio{cpu_id=\"3\"," LBL ",tag=\"a\\\"b\"} 0.25");
    expect_line(text, "# TYPE target_info gauge");
    expect_line(text, "target_info{host_name=\"box\",instance=\"i-1\",job=\"prod/shop\"} 1");
    free(text);
    struct oca_prom_state_stats s;
    oca_prom_state_get_stats(st, &s);
    assert_int_equal(s.series, 2);
    oca_prom_state_free(st);
}

static void test_delta_sum_accumulates_and_resets(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    struct oca_prom_state *st = oca_prom_state_new(&o);
    add_json(st, SUM("reqs", 1, true, PT(100, 200, 5)), 1);
    add_json(st, SUM("reqs", 1, true, PT(200, 300, 7)), 2);
    char *text = render(st);
    expect_line(text, "# TYPE reqs_total counter");
    expect_line(text, "reqs_total{" LBL "} 12");
    free(text);
    /* A start that is not the stored end: the series starts anew. */
    add_json(st, SUM("reqs", 1, true, PT(1000, 1100, 4)), 3);
    text = render(st);
    expect_line(text, "reqs_total{" LBL "} 4");
    free(text);
    add_json(st, SUM("reqs", 1, true, PT(1100, 1200, 1)), 4);
    text = render(st);
    expect_line(text, "reqs_total{" LBL "} 5");
    free(text);
    oca_prom_state_free(st);
}

static void test_cumulative_and_dropped_temporalities(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    struct oca_prom_state *st = oca_prom_state_new(&o);
    add_json(st, SUM("hits", 2, true, PT(100, 200, 5)), 1);
    add_json(st, SUM("hits", 2, true, PT(100, 300, 9)), 1);
    /* An older point does not replace a newer one. */
    add_json(st, SUM("hits", 2, true, PT(100, 250, 7)), 1);
    add_json(st, SUM("queue", 2, false, PT(100, 200, -3)), 1);
    assert_int_equal(add_json(st, SUM("updown", 1, false, PT(100, 200, 1) "," PT(100, 200, 2)), 1), 0);
    assert_int_equal(add_json(st, SUM("unspec", 0, true, PT(100, 200, 1)), 1), 0);
    char *text = render(st);
    expect_line(text, "hits_total{" LBL "} 9");
    expect_line(text, "# TYPE queue gauge");
    expect_line(text, "queue{" LBL "} -3");
    expect_no(text, "updown");
    expect_no(text, "unspec");
    free(text);
    struct oca_prom_state_stats s;
    oca_prom_state_get_stats(st, &s);
    assert_int_equal(s.dropped_temporality, 3);
    oca_prom_state_free(st);
}

#define HIST(temp, start, t, counts, sum, count) \
    "{\"name\":\"latency\",\"unit\":\"ms\",\"histogram\":{\"aggregationTemporality\":" #temp ",\"dataPoints\":[" \
    "{\"startTimeUnixNano\":\"" #start "\",\"timeUnixNano\":\"" #t "\",\"count\":\"" #count "\",\"sum\":" #sum \
    ",\"explicitBounds\":[1,2.5,10],\"bucketCounts\":" counts "}]}}"

static void test_histogram_buckets(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    struct oca_prom_state *st = oca_prom_state_new(&o);
    add_json(st, HIST(1, 10, 20, "[\"1\",\"2\",\"0\",\"3\"]", 40.5, 6), 1);
    char *text = render(st);
    expect_line(text, "# TYPE latency_milliseconds histogram");
    expect_line(text, "latency_milliseconds_bucket{" LBL ",le=\"1\"} 1");
    expect_line(text, "latency_milliseconds_bucket{" LBL ",le=\"2.5\"} 3");
    expect_line(text, "latency_milliseconds_bucket{" LBL ",le=\"10\"} 3");
    expect_line(text, "latency_milliseconds_bucket{" LBL ",le=\"+Inf\"} 6");
    expect_line(text, "latency_milliseconds_sum{" LBL "} 40.5");
    expect_line(text, "latency_milliseconds_count{" LBL "} 6");
    free(text);
    /* The next delta continues it: buckets, sum and count add up. */
    add_json(st, HIST(1, 20, 30, "[\"0\",\"1\",\"1\",\"0\"]", 9.5, 2), 2);
    text = render(st);
    expect_line(text, "latency_milliseconds_bucket{" LBL ",le=\"1\"} 1");
    expect_line(text, "latency_milliseconds_bucket{" LBL ",le=\"2.5\"} 4");
    expect_line(text, "latency_milliseconds_bucket{" LBL ",le=\"10\"} 5");
    expect_line(text, "latency_milliseconds_bucket{" LBL ",le=\"+Inf\"} 8");
    expect_line(text, "latency_milliseconds_sum{" LBL "} 50");
    expect_line(text, "latency_milliseconds_count{" LBL "} 8");
    free(text);
    /* A gap: reset. */
    add_json(st, HIST(1, 99, 100, "[\"0\",\"0\",\"0\",\"1\"]", 20, 1), 3);
    text = render(st);
    expect_line(text, "latency_milliseconds_bucket{" LBL ",le=\"10\"} 0");
    expect_line(text, "latency_milliseconds_bucket{" LBL ",le=\"+Inf\"} 1");
    expect_line(text, "latency_milliseconds_count{" LBL "} 1");
    free(text);
    oca_prom_state_free(st);
}

static void test_summary(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    struct oca_prom_state *st = oca_prom_state_new(&o);
    add_json(st, "{\"name\":\"rpc.time\",\"unit\":\"s\",\"summary\":{\"dataPoints\":[{\"timeUnixNano\":\"5\","
                 "\"count\":\"4\",\"sum\":2,\"quantileValues\":[{\"quantile\":0.5,\"value\":0.4},"
                 "{\"quantile\":0.99,\"value\":1.5}]}]}}", 1);
    char *text = render(st);
    expect_line(text, "# TYPE rpc_time_seconds summary");
    expect_line(text, "rpc_time_seconds{" LBL ",quantile=\"0.5\"} 0.4");
    expect_line(text, "rpc_time_seconds{" LBL ",quantile=\"0.99\"} 1.5");
    expect_line(text, "rpc_time_seconds_sum{" LBL "} 2");
    expect_line(text, "rpc_time_seconds_count{" LBL "} 4");
    free(text);
    oca_prom_state_free(st);
}

static void test_type_conflict_first_wins(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    o.add_suffixes = false;
    struct oca_prom_state *st = oca_prom_state_new(&o);
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    add_json(st, SUM("x", 2, true, PT(1, 2, 3)), 1);
    assert_int_equal(add_json(st, "{\"name\":\"x\",\"gauge\":{\"dataPoints\":[" PT(1, 2, 4) "]}}", 1), 0);
    char *log = oca_test_capture_end(&cap);
    assert_non_null(strstr(log, "metric x is a counter already"));
    free(log);
    char *text = render(st);
    expect_line(text, "# TYPE x counter");
    expect_line(text, "x{" LBL "} 3");
    free(text);
    struct oca_prom_state_stats s;
    oca_prom_state_get_stats(st, &s);
    assert_int_equal(s.dropped_unsupported, 1);
    oca_prom_state_free(st);
}

static void test_expiry(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    struct oca_prom_state *st = oca_prom_state_new(&o);
    const uint64_t s = 1000000000;
    add_json(st, SUM("old", 2, true, PT(1, 2, 3)), 10 * s);
    add_json(st, SUM("new", 2, true, PT(1, 2, 3)), 200 * s);
    /* target_info was refreshed by the second request. */
    assert_int_equal(oca_prom_state_expire(st, 300 * s, 120 * (int64_t)s), 1);
    char *text = render(st);
    expect_no(text, "old_total");
    expect_line(text, "new_total{" LBL "} 3");
    expect_line(text, "target_info{host_name=\"box\",instance=\"i-1\",job=\"prod/shop\"} 1");
    free(text);
    assert_int_equal(oca_prom_state_expire(st, 400 * s, 120 * (int64_t)s), 2);
    struct oca_prom_state_stats stats;
    oca_prom_state_get_stats(st, &stats);
    assert_int_equal(stats.series, 0);
    assert_int_equal(stats.families, 0);
    assert_int_equal(stats.expired, 3);
    text = render(st);
    assert_string_equal(text, "");
    free(text);
    oca_prom_state_free(st);
}

static void test_max_series(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    o.max_series = 3;   /* target_info + two */
    struct oca_prom_state *st = oca_prom_state_new(&o);
    assert_int_equal(add_json(st, SUM("a", 2, true, PT(1, 2, 1)) "," SUM("b", 2, true, PT(1, 2, 1)) ","
                                  SUM("c", 2, true, PT(1, 2, 1)), 1), 2);
    /* Known series still update. */
    assert_int_equal(add_json(st, SUM("a", 2, true, PT(1, 3, 5)), 1), 1);
    struct oca_prom_state_stats s;
    oca_prom_state_get_stats(st, &s);
    assert_int_equal(s.series, 3);
    assert_int_equal(s.dropped_max_series, 1);
    char *text = render(st);
    expect_line(text, "a_total{" LBL "} 5");
    expect_no(text, "c_total");
    free(text);
    oca_prom_state_free(st);
}

static void test_sorted_output_and_options(void **state)
{
    (void)state;
    struct oca_strmap cl = { 0 };
    char *k[] = { "region" }, *v[] = { "eu" };
    cl.keys = k;
    cl.values = v;
    cl.n = 1;
    struct oca_prom_state_options o = defaults();
    o.namespace_ = "app";
    o.const_labels = &cl;
    o.send_timestamps = true;
    o.resource_to_telemetry = true;
    struct oca_prom_state *a = oca_prom_state_new(&o), *b = oca_prom_state_new(&o);
    add_json(a, SUM("zeta", 2, true, PT(1, 5000000, 1)) "," SUM("alpha", 2, true, PT(1, 5000000, 2)), 1);
    add_json(b, SUM("alpha", 2, true, PT(1, 5000000, 2)) "," SUM("zeta", 2, true, PT(1, 5000000, 1)), 1);
    char *ta = render(a), *tb = render(b);
    assert_string_equal(ta, tb);
    assert_true(strstr(ta, "app_alpha_total") < strstr(ta, "app_zeta_total"));
    expect_line(ta, "app_alpha_total{host_name=\"box\"," LBL ",region=\"eu\"} 2 5");
    expect_line(ta, "target_info{host_name=\"box\",instance=\"i-1\",job=\"prod/shop\",region=\"eu\"} 1");
    free(ta);
    free(tb);
    oca_prom_state_free(a);
    oca_prom_state_free(b);
}

static char *render_om(struct oca_prom_state *st)
{
    struct oca_buf out = { 0 };
    oca_prom_state_render(st, OCA_PROM_OPENMETRICS, &out);
    return out.data;
}

#define EX(t, v, trace, span) \
    "{\"timeUnixNano\":\"" #t "\",\"asDouble\":" #v ",\"traceId\":\"" trace "\",\"spanId\":\"" span "\"}"
#define TRACE "0af7651916cd43dd8448eb211c80319c"
#define SPAN "b7ad6b7169203331"

static void test_open_metrics_and_exemplars(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    o.send_timestamps = true;
    struct oca_prom_state *st = oca_prom_state_new(&o);
    add_json(st,
        "{\"name\":\"io\",\"unit\":\"By\",\"description\":\"Bytes \\\"moved\\\".\",\"sum\":{\"aggregationTemporality\":2,"
        "\"isMonotonic\":true,\"dataPoints\":[{\"startTimeUnixNano\":\"1\",\"timeUnixNano\":\"1500000000\",\"asInt\":\"7\","
        "\"exemplars\":[" EX(1000000000, 1, TRACE, "0000000000000000") "," EX(1200000000, 2.5, TRACE, SPAN) "]}]}},"
        "{\"name\":\"latency\",\"unit\":\"ms\",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[{"
        "\"startTimeUnixNano\":\"1\",\"timeUnixNano\":\"2000000000\",\"count\":\"6\",\"sum\":40,\"explicitBounds\":[1,10],"
        "\"bucketCounts\":[\"1\",\"2\",\"3\"],\"exemplars\":[" EX(0, 0.5, TRACE, SPAN) "," EX(0, 10, TRACE, SPAN) ","
        EX(0, 99, "00000000000000000000000000000000", SPAN) "]}]}},"
        "{\"name\":\"temp\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"3000000000\",\"asDouble\":21.5,"
        "\"exemplars\":[" EX(0, 21.5, TRACE, SPAN) "]}]}}", 1);
    char *text = render_om(st);
    const char *want =
        "# HELP io_bytes Bytes \\\"moved\\\".\n"
        "# TYPE io_bytes counter\n"
        "# UNIT io_bytes bytes\n"
        "io_bytes_total{" LBL "} 7 1.500 # {trace_id=\"" TRACE "\",span_id=\"" SPAN "\"} 2.5 1.200\n"
        "# TYPE latency_milliseconds histogram\n"
        "# UNIT latency_milliseconds milliseconds\n"
        "latency_milliseconds_bucket{" LBL ",le=\"1\"} 1 2.000 # {trace_id=\"" TRACE "\",span_id=\"" SPAN "\"} 0.5\n"
        "latency_milliseconds_bucket{" LBL ",le=\"10\"} 3 2.000 # {trace_id=\"" TRACE "\",span_id=\"" SPAN "\"} 10\n"
        "latency_milliseconds_bucket{" LBL ",le=\"+Inf\"} 6 2.000 # {span_id=\"" SPAN "\"} 99\n"
        "latency_milliseconds_sum{" LBL "} 40 2.000\n"
        "latency_milliseconds_count{" LBL "} 6 2.000\n"
        "# HELP target_info Target metadata\n"
        "# TYPE target_info gauge\n"
        "target_info{host_name=\"box\",instance=\"i-1\",job=\"prod/shop\"} 1\n"
        "# TYPE temp gauge\n"
        "temp{" LBL "} 21.5 3.000\n"
        "# EOF\n";
    assert_string_equal(text, want);
    free(text);
    /* The text format has no exemplars and keeps _total on the family. */
    text = render(st);
    expect_line(text, "# TYPE io_bytes_total counter");
    expect_line(text, "io_bytes_total{" LBL "} 7 1500");
    expect_no(text, "# {");
    expect_no(text, "# EOF");
    free(text);
    /* A newer point without exemplars drops the held ones. */
    add_json(st, "{\"name\":\"io\",\"unit\":\"By\",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,"
                 "\"dataPoints\":[{\"startTimeUnixNano\":\"1\",\"timeUnixNano\":\"1600000000\",\"asInt\":\"8\"}]}}", 1);
    text = render_om(st);
    expect_line(text, "io_bytes_total{" LBL "} 8 1.600");
    free(text);
    oca_prom_state_free(st);
}

static void test_snapshot_outlives_expiry_and_changes(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    struct oca_prom_state *st = oca_prom_state_new(&o);
    const uint64_t s = 1000000000;
    add_json(st, SUM("b", 2, true, PT(1, 2, 3)) "," SUM("a", 2, true, PT(1, 2, 4)), 10 * s);
    char *before = render(st);
    struct oca_prom_snapshot *snap = oca_prom_state_snapshot(st, OCA_PROM_TEXT, 0, 0);
    assert_true(oca_prom_state_snapshot_step(st, snap, SIZE_MAX));
    /* Everything expires and new values come while the snapshot is out: it shows what it copied. */
    assert_int_equal(oca_prom_state_expire(st, 500 * s, 60 * (int64_t)s), 3);
    add_json(st, SUM("c", 2, true, PT(1, 2, 5)), 500 * s);
    struct oca_buf out = { 0 };
    oca_prom_snapshot_render(snap, &out);
    assert_string_equal(out.data, before);
    oca_prom_state_release(st, snap);
    oca_buf_free(&out);
    free(before);
    char *text = render(st);
    expect_no(text, "a_total");
    expect_line(text, "c_total{" LBL "} 5");
    free(text);

    /* A snapshot sorted while a series came must not hand its order on: the next render is
     * sorted and complete. */
    snap = oca_prom_state_snapshot(st, OCA_PROM_TEXT, 0, 0);
    assert_true(oca_prom_state_snapshot_step(st, snap, SIZE_MAX));
    add_json(st, SUM("d", 2, true, PT(1, 2, 6)) "," SUM("a", 2, true, PT(1, 2, 7)), 500 * s);
    oca_prom_snapshot_render(snap, &out);
    oca_prom_state_release(st, snap);
    oca_buf_free(&out);
    text = render(st);
    char *again = render(st);
    assert_string_equal(text, again);
    assert_non_null(strstr(text, "a_total"));
    assert_true(strstr(text, "a_total") < strstr(text, "c_total"));
    assert_true(strstr(text, "c_total") < strstr(text, "d_total"));
    free(text);
    free(again);
    oca_prom_state_free(st);
}

/* A gauge point of series queue="qN". */
#define QPT(n, t) "{\"timeUnixNano\":\"" #t "\",\"asInt\":\"" #n "\",\"attributes\":[{\"key\":\"queue\"," \
                  "\"value\":{\"stringValue\":\"q" #n "\"}}]}"
#define QGAUGE(name, pts) "{\"name\":\"" name "\",\"gauge\":{\"dataPoints\":[" pts "]}}"

static void test_snapshot_in_steps(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    struct oca_prom_state *st = oca_prom_state_new(&o);
    const uint64_t s = 1000000000;
    add_json(st, QGAUGE("depth", QPT(3, 1) "," QPT(1, 1) "," QPT(2, 1)) "," QGAUGE("zz", QPT(9, 1)), 10 * s);
    add_json(st, QGAUGE("old", QPT(5, 1)), 1 * s);

    /* One series per step; between steps a series comes (into a new family too), the old one
     * expires and comes back: the output is sorted, has no duplicate, and is complete for what
     * was there when the snapshot began and not expired (ttl 60 s at 65 s leaves "old" out). */
    struct oca_prom_snapshot *snap = oca_prom_state_snapshot(st, OCA_PROM_TEXT, 65 * s, 60 * (int64_t)s);
    size_t steps = 0;
    while (!oca_prom_state_snapshot_step(st, snap, 1)) {
        if (++steps == 2) {
            add_json(st, QGAUGE("depth", QPT(0, 2)) "," QGAUGE("aa", QPT(7, 2)), 65 * s);
            assert_int_equal(oca_prom_state_expire(st, 65 * s, 60 * (int64_t)s), 1);
            add_json(st, QGAUGE("old", QPT(5, 2)), 65 * s);
        }
    }
    struct oca_buf out = { 0 };
    oca_prom_snapshot_render(snap, &out);
    oca_prom_state_release(st, snap);
    const char *d1 = strstr(out.data, "depth{" LBL ",queue=\"q1\"} 1\n");
    const char *d2 = strstr(out.data, "depth{" LBL ",queue=\"q2\"} 2\n");
    const char *d3 = strstr(out.data, "depth{" LBL ",queue=\"q3\"} 3\n");
    const char *z = strstr(out.data, "zz{" LBL ",queue=\"q9\"} 9\n");
    assert_true(d1 && d2 && d3 && z && d1 < d2 && d2 < d3 && d3 < z);
    const char *t = strstr(out.data, "# TYPE target_info gauge");
    assert_true(t && t > d3 && t < z);
    expect_no(out.data, "old{");
    oca_buf_free(&out);

    /* Everything is there on the next scrape, "old" (which is back) included, in order. */
    char *text = render(st);
    assert_true(strstr(text, "aa{") < strstr(text, "depth{" LBL ",queue=\"q0\"} 0"));
    expect_line(text, "old{" LBL ",queue=\"q5\"} 5");
    char *again = render(st);
    assert_string_equal(text, again);
    free(text);
    free(again);

    /* A scrape that left a stale series out keeps no order: once the series is updated again it
     * is shown (without a change in the set of series). */
    add_json(st, QGAUGE("depth", QPT(1, 3)), 200 * s);
    snap = oca_prom_state_snapshot(st, OCA_PROM_TEXT, 200 * s, 60 * (int64_t)s);
    assert_true(oca_prom_state_snapshot_step(st, snap, SIZE_MAX));
    oca_prom_snapshot_render(snap, &out);
    oca_prom_state_release(st, snap);
    expect_line(out.data, "depth{" LBL ",queue=\"q1\"} 1");
    expect_no(out.data, "q9");
    expect_no(out.data, "q0");
    oca_buf_free(&out);
    add_json(st, QGAUGE("zz", QPT(9, 4)), 201 * s);
    text = render(st);
    expect_line(text, "zz{" LBL ",queue=\"q9\"} 9");
    expect_line(text, "depth{" LBL ",queue=\"q1\"} 1");
    free(text);
    oca_prom_state_free(st);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The radix sort of labels against strcmp: values that share long prefixes, end inside one
 * another's 8-byte chunk, or differ only past 16 bytes. */
static void test_sort_matches_strcmp(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    struct oca_prom_state *st = oca_prom_state_new(&o);
    struct oca_buf j = { 0 };
    uint64_t r = 88172645463325252u;
    for (int i = 0; i < 400; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        char v[64];
        size_t len = r % 40;
        for (size_t k = 0; k < len; k++)
            v[k] = "aab"[(r >> (k % 60)) % 3];
        v[len] = '\0';
        oca_buf_printf(&j, "%s{\"timeUnixNano\":\"1\",\"asInt\":\"1\",\"attributes\":[{\"key\":\"route\","
                           "\"value\":{\"stringValue\":\"/api/v1/items/%s\"}}]}", i ? "," : "", v);
    }
    char *req = NULL;
    size_t n = strlen(j.data) + 64;
    req = malloc(n + 64);
    snprintf(req, n + 64, "{\"name\":\"m\",\"gauge\":{\"dataPoints\":[%s]}}", j.data);
    add_json(st, req, 1);
    free(req);
    oca_buf_free(&j);
    char *text = render(st);
    char *lines[512];
    size_t n_lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, "m{", 2) == 0)
            lines[n_lines++] = line;
    assert_true(n_lines > 100);
    char *sorted[512];
    memcpy(sorted, lines, n_lines * sizeof(*lines));
    qsort(sorted, n_lines, sizeof(*sorted), str_cmp);
    for (size_t i = 0; i < n_lines; i++) {
        assert_string_equal(lines[i], sorted[i]);
        if (i)
            assert_true(strcmp(lines[i - 1], lines[i]) < 0);   /* no duplicates */
    }
    free(text);
    oca_prom_state_free(st);
}

/* A point with no resource, no scope and no attributes has no labels at all (found by the fuzzer:
 * its label string was left unterminated). */
static void test_series_without_labels(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    struct oca_prom_state *st = oca_prom_state_new(&o);
    const char *json = "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"bare\",\"gauge\":"
                       "{\"dataPoints\":[{\"timeUnixNano\":\"1\",\"asInt\":\"3\"}]}}]}]}]}";
    struct oca_batch *b = NULL;
    assert_int_equal(oca_batch_decode(OCA_SIGNAL_METRICS, OCA_ENCODING_JSON, (const uint8_t *)json, strlen(json),
                                      &b, NULL, 0), OCA_OK);
    assert_int_equal(oca_prom_state_add(st, b->metrics, 1), 1);
    oca_batch_unref(b);
    char *text = render(st);
    assert_string_equal(text, "# TYPE bare gauge\nbare 3\n");
    free(text);
    oca_prom_state_free(st);
}

static size_t count_of(const char *text, const char *part)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, part)) != NULL; p += strlen(part))
        n++;
    return n;
}

/* Everything expires and comes back (new series, a new family of the same name) while a snapshot
 * is taken in steps: each family header and each series is still written once. */
static void test_snapshot_across_a_family_made_again(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    struct oca_prom_state *st = oca_prom_state_new(&o);
    const uint64_t s = 1000000000;
    const char *metrics = QGAUGE("depth", QPT(1, 1) "," QPT(2, 1) "," QPT(3, 1) "," QPT(4, 1));
    add_json(st, metrics, 10 * s);
    struct oca_prom_snapshot *snap = oca_prom_state_snapshot(st, OCA_PROM_TEXT, 10 * s, 0);
    int k = 0;
    while (!oca_prom_state_snapshot_step(st, snap, 1)) {
        if (k++ == 1) {
            assert_int_equal(oca_prom_state_expire(st, 100 * s, 60 * (int64_t)s), 5);
            add_json(st, metrics, 100 * s);
        }
    }
    struct oca_buf out = { 0 };
    oca_prom_snapshot_render(snap, &out);
    oca_prom_state_release(st, snap);
    assert_int_equal(count_of(out.data, "# TYPE depth gauge\n"), 1);
    for (int q = 1; q <= 4; q++) {
        char line[160];
        snprintf(line, sizeof(line), "depth{" LBL ",queue=\"q%d\"} %d\n", q, q);
        assert_true(count_of(out.data, line) <= 1);
    }
    assert_true(count_of(out.data, "# TYPE target_info gauge\n") <= 1);
    oca_buf_free(&out);
    char *text = render(st);
    assert_int_equal(count_of(text, "depth{"), 4);
    free(text);
    oca_prom_state_free(st);
}

/* Expiry in slices of one series: stale series go, fresh ones (also those that come during the
 * pass) stay, and the pass ends with the position back at 0. */
static void test_expiry_in_steps(void **state)
{
    (void)state;
    struct oca_prom_state_options o = defaults();
    struct oca_prom_state *st = oca_prom_state_new(&o);
    const uint64_t s = 1000000000;
    add_json(st, QGAUGE("old", QPT(1, 1) "," QPT(2, 1) "," QPT(3, 1)), 10 * s);
    add_json(st, QGAUGE("fresh", QPT(1, 1)), 100 * s);
    size_t pos = 0, removed = 0, steps = 0;
    while (!oca_prom_state_expire_step(st, 100 * s, 60 * (int64_t)s, &pos, 1, &removed)) {
        assert_true(pos > 0);
        if (++steps == 1)
            add_json(st, QGAUGE("fresh", QPT(2, 1)), 100 * s);
    }
    assert_int_equal(pos, 0);
    assert_true(steps >= 2);
    assert_int_equal(removed, 3);
    char *text = render(st);
    expect_no(text, "old{");
    expect_line(text, "fresh{" LBL ",queue=\"q1\"} 1");
    expect_line(text, "fresh{" LBL ",queue=\"q2\"} 2");
    free(text);
    struct oca_prom_state_stats stats;
    oca_prom_state_get_stats(st, &stats);
    assert_int_equal(stats.expired, 3);
    oca_prom_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_target_info_and_help),
        cmocka_unit_test(test_delta_sum_accumulates_and_resets),
        cmocka_unit_test(test_cumulative_and_dropped_temporalities),
        cmocka_unit_test(test_histogram_buckets),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_type_conflict_first_wins),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_max_series),
        cmocka_unit_test(test_sorted_output_and_options),
        cmocka_unit_test(test_open_metrics_and_exemplars),
        cmocka_unit_test(test_snapshot_outlives_expiry_and_changes),
        cmocka_unit_test(test_snapshot_in_steps),
        cmocka_unit_test(test_sort_matches_strcmp),
        cmocka_unit_test(test_series_without_labels),
        cmocka_unit_test(test_snapshot_across_a_family_made_again),
        cmocka_unit_test(test_expiry_in_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
