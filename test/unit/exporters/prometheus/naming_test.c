/* Tests of exporters/prometheus/naming.c: OTel metric names and units become the Prometheus names
 * the Collector's translator gives (the compatibility spec's examples and its corner cases), and
 * attribute keys become valid label names. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "exporters/prometheus/naming.h"

static void expect_metric(const char *name, const char *unit, enum oca_naming_kind kind, const char *ns,
                          bool suffixes, const char *want)
{
    char *got = oca_naming_metric(name, unit, kind, ns, suffixes);
    if (strcmp(got, want) != 0)
        fail_msg("%s [%s] -> %s, want %s", name, unit ? unit : "", got, want);
    free(got);
}

static void expect_label(const char *key, const char *want)
{
    char *got = oca_naming_label(key);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("%s -> %s, want %s", key, got, want);
    free(got);
}

static void test_invalid_characters(void **state)
{
    (void)state;
    expect_metric("http.server.requests", NULL, OCA_NAMING_OTHER, NULL, true, "http_server_requests");
    expect_metric("a-b c/d", "", OCA_NAMING_OTHER, NULL, true, "a_b_c_d");
    expect_metric("a..b__c", "", OCA_NAMING_OTHER, NULL, true, "a_b_c");
    expect_metric("_lead.trail_", "", OCA_NAMING_OTHER, NULL, true, "lead_trail");
    expect_metric("ns:sub.x", "", OCA_NAMING_OTHER, NULL, true, "ns:sub_x");
    expect_metric("2xx.count", "", OCA_NAMING_OTHER, NULL, true, "_2xx_count");
    expect_metric("caf\xc3\xa9.latte", "", OCA_NAMING_OTHER, NULL, true, "caf_latte");
    expect_metric("...", "", OCA_NAMING_OTHER, NULL, true, "_");
    expect_metric("", "", OCA_NAMING_OTHER, NULL, true, "_");
}

static void test_unit_suffixes(void **state)
{
    (void)state;
    expect_metric("http.server.duration", "s", OCA_NAMING_OTHER, NULL, true, "http_server_duration_seconds");
    expect_metric("rpc.duration", "ms", OCA_NAMING_OTHER, NULL, true, "rpc_duration_milliseconds");
    expect_metric("mem.usage", "By", OCA_NAMING_GAUGE, NULL, true, "mem_usage_bytes");
    expect_metric("disk", "MiBy", OCA_NAMING_GAUGE, NULL, true, "disk_mebibytes");
    expect_metric("temp", "Cel", OCA_NAMING_GAUGE, NULL, true, "temp_celsius");
    expect_metric("cpu.utilization", "1", OCA_NAMING_GAUGE, NULL, true, "cpu_utilization_ratio");
    expect_metric("hit.ratio", "1", OCA_NAMING_GAUGE, NULL, true, "hit_ratio");
    /* "1" on anything but a gauge adds nothing. */
    expect_metric("queue.items", "1", OCA_NAMING_OTHER, NULL, true, "queue_items");
    expect_metric("load", "%", OCA_NAMING_GAUGE, NULL, true, "load_percent");
    /* Annotations are dropped, a unit already in the name is not repeated. */
    expect_metric("requests", "{request}", OCA_NAMING_OTHER, NULL, true, "requests");
    expect_metric("io.bytes", "By", OCA_NAMING_OTHER, NULL, true, "io_bytes");
    expect_metric("duration_seconds", "s", OCA_NAMING_OTHER, NULL, true, "duration_seconds");
    expect_metric("x", "By{compressed}", OCA_NAMING_OTHER, NULL, true, "x_bytes");
    /* Rates: "a/b" -> _a_per_b with the singular of time units. */
    expect_metric("throughput", "By/s", OCA_NAMING_GAUGE, NULL, true, "throughput_bytes_per_second");
    expect_metric("rate", "{packet}/min", OCA_NAMING_GAUGE, NULL, true, "rate_per_min");
    expect_metric("speed", "m/s", OCA_NAMING_GAUGE, NULL, true, "speed_meters_per_second");
    expect_metric("speed_per_second", "m/s", OCA_NAMING_GAUGE, NULL, true, "speed_per_second_meters");
    /* Unknown units are used as written, sanitized. */
    expect_metric("flow", "l.h", OCA_NAMING_GAUGE, NULL, true, "flow_l_h");
}

static void test_counters_get_total(void **state)
{
    (void)state;
    expect_metric("http.requests", "{request}", OCA_NAMING_COUNTER, NULL, true, "http_requests_total");
    expect_metric("bytes.sent", "By", OCA_NAMING_COUNTER, NULL, true, "bytes_sent_total");
    expect_metric("cpu.time", "s", OCA_NAMING_COUNTER, NULL, true, "cpu_time_seconds_total");
    expect_metric("jobs_total", "", OCA_NAMING_COUNTER, NULL, true, "jobs_total");
    expect_metric("total.jobs", "", OCA_NAMING_COUNTER, NULL, true, "jobs_total");
    /* Without suffixes: characters only. */
    expect_metric("http.requests", "{request}", OCA_NAMING_COUNTER, NULL, false, "http_requests");
    expect_metric("cpu.utilization", "1", OCA_NAMING_GAUGE, NULL, false, "cpu_utilization");
}

static void test_namespace(void **state)
{
    (void)state;
    expect_metric("http.requests", "", OCA_NAMING_COUNTER, "myapp", true, "myapp_http_requests_total");
    expect_metric("x", "s", OCA_NAMING_OTHER, "my-app.prod", true, "my_app_prod_x_seconds");
    expect_metric("x", "", OCA_NAMING_OTHER, "", true, "x");
    expect_metric("x", "", OCA_NAMING_OTHER, "9ns", false, "_9ns_x");
}

static void test_labels(void **state)
{
    (void)state;
    expect_label("http.method", "http_method");
    expect_label("service.instance.id", "service_instance_id");
    expect_label("a-b/c d", "a_b_c_d");
    expect_label("already_ok", "already_ok");
    expect_label("2xx", "key_2xx");
    expect_label("_private", "key_private");
    expect_label("__reserved", "__reserved");
    expect_label("caf\xc3\xa9", "caf_");
    expect_label("a:b", "a_b");
    expect_label("", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_characters),
        cmocka_unit_test(test_unit_suffixes),
        cmocka_unit_test(test_counters_get_total),
        cmocka_unit_test(test_namespace),
        cmocka_unit_test(test_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
