/* Tests of agent/telemetry.c on a real loop with raw HTTP/1.1 over 127.0.0.1: /metrics holds the
 * edge counts with their labels as they change, sane process metrics and the memory budget, every
 * sample under a HELP and a TYPE line; other paths are 404, other methods 405; a port in use fails
 * the start cleanly. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "agent/telemetry.h"
#include "base/budget.h"
#include "base/errors.h"
#include "base/log.h"
#include "pipeline/counters.h"
#include "rawhttp.h"

static struct oca_endpoint loopback_any_port = { "127.0.0.1", 0, "127.0.0.1:0" };

static int closed_calls;
static void on_closed(void *arg)
{
    (void)arg;
    closed_calls++;
}
static bool closed(void *arg) { (void)arg; return closed_calls > 0; }

static struct oca_telemetry *start(uv_loop_t *loop)
{
    struct oca_telemetry *t = NULL;
    assert_int_equal(oca_telemetry_start(loop, &loopback_any_port, &t), OCA_OK);
    assert_non_null(t);
    assert_true(oca_telemetry_port(t) > 0);
    return t;
}

static void stop(uv_loop_t *loop, struct oca_telemetry *t)
{
    closed_calls = 0;
    oca_telemetry_close(t, on_closed, NULL);
    assert_true(oca_test_run_until(loop, closed, NULL, 10000));
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

/* The value of the sample whose line starts with series (name plus labels), or -1 when absent. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    return -1;
}

/* Every sample line belongs to a family announced by "# HELP name" and "# TYPE name" before it,
 * each family is announced once, and every line ends in a newline. */
static void assert_well_formed(const char *text)
{
    assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    char current[256] = "";
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        const char *eol = strchr(line, '\n');
        char name[256];
        if (strncmp(line, "# HELP ", 7) == 0) {
            sscanf(line + 7, "%255s", name);
            char needle[300];
            snprintf(needle, sizeof(needle), "# HELP %s ", name);
            if (strstr(eol, needle))
                fail_msg("family %s announced twice", name);
            snprintf(current, sizeof(current), "%s", name);
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char type[32];
            assert_int_equal(sscanf(line + 7, "%255s %31s", name, type), 2);
            assert_string_equal(name, current);
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0);
            continue;
        }
        size_t len = strcspn(line, "{ ");
        if (strlen(current) != len || strncmp(line, current, len) != 0)
            fail_msg("sample without its HELP/TYPE: %.*s", (int)(eol - line), line);
    }
}

static void test_metrics_show_counts_with_labels_and_process_metrics(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct oca_counters *rx = oca_counters_register(OCA_RECEIVER, "otlp/in");
    struct oca_counters *px = oca_counters_register(OCA_PROCESSOR, "batch");
    struct oca_counters *ex = oca_counters_register(OCA_EXPORTER, "file");
    oca_counters_add(rx, OCA_EDGE_ACCEPTED, OCA_SIGNAL_TRACES, 5);
    oca_counters_add(rx, OCA_EDGE_REFUSED, OCA_SIGNAL_LOGS, 2);
    oca_counters_add(px, OCA_EDGE_ACCEPTED, OCA_SIGNAL_TRACES, 5);
    oca_counters_add(ex, OCA_EDGE_SENT, OCA_SIGNAL_METRICS, 7);
    ex->queue_size = 1;
    ex->queue_capacity = 100;
    struct oca_telemetry *t = start(&loop);
    uint16_t port = oca_telemetry_port(t);

    struct rawhttp_response r;
    assert_int_equal(rawhttp_get(&loop, port, "/metrics", &r), 200);
    char ctype[128];
    assert_true(rawhttp_header(&r, "content-type", ctype, sizeof(ctype)));
    assert_string_equal(ctype, "text/plain; version=0.0.4; charset=utf-8");
    const char *body = r.body;
    assert_well_formed(body);
    assert_true(sample(body, "otelcol_receiver_accepted_spans{receiver=\"otlp/in\"}") == 5);
    assert_true(sample(body, "otelcol_receiver_refused_log_records{receiver=\"otlp/in\"}") == 2);
    assert_true(sample(body, "otelcol_receiver_accepted_metric_points{receiver=\"otlp/in\"}") == 0);
    assert_true(sample(body, "otelcol_processor_accepted_spans{processor=\"batch\"}") == 5);
    assert_true(sample(body, "otelcol_exporter_sent_metric_points{exporter=\"file\"}") == 7);
    assert_true(sample(body, "otelcol_exporter_send_failed_spans{exporter=\"file\"}") == 0);
    assert_true(sample(body, "otelcol_exporter_queue_size{exporter=\"file\"}") == 1);
    assert_true(sample(body, "otelcol_exporter_queue_capacity{exporter=\"file\"}") == 100);
    assert_non_null(strstr(body, "# TYPE otelcol_receiver_accepted_spans counter\n"));
    assert_non_null(strstr(body, "# HELP otelcol_receiver_accepted_spans Number of spans successfully pushed "
                                 "into the pipeline.\n"));
    assert_non_null(strstr(body, "# TYPE otelcol_exporter_queue_size gauge\n"));

    double uptime = sample(body, "otelcol_process_uptime");
    double rss = sample(body, "otelcol_process_memory_rss");
    double cpu = sample(body, "otelcol_process_cpu_seconds");
    assert_true(uptime >= 0 && uptime < 60);
    assert_true(rss > 1024 * 1024 && rss < 16.0 * 1024 * 1024 * 1024);
    assert_true(cpu > 0 && cpu < 3600);
    assert_non_null(strstr(body, "# TYPE otelcol_process_uptime counter\n"));
    assert_non_null(strstr(body, "# TYPE otelcol_process_memory_rss gauge\n"));
    assert_true(sample(body, "otelcol_ocagent_memory_budget_limit_bytes") == (double)oca_budget_limit());
    assert_true(sample(body, "otelcol_ocagent_memory_budget_used_bytes") == (double)oca_budget_used());
    oca_buf_free(&r.raw);

    /* The next scrape sees what changed in between, and a later uptime. */
    oca_counters_add(rx, OCA_EDGE_ACCEPTED, OCA_SIGNAL_TRACES, 10);
    oca_counters_add(ex, OCA_EDGE_SEND_FAILED, OCA_SIGNAL_TRACES, 4);
    ex->queue_size = 0;
    assert_int_equal(rawhttp_get(&loop, port, "/metrics", &r), 200);
    assert_true(sample(r.body, "otelcol_receiver_accepted_spans{receiver=\"otlp/in\"}") == 15);
    assert_true(sample(r.body, "otelcol_exporter_queue_size{exporter=\"file\"}") == 0);
    assert_true(sample(r.body, "otelcol_exporter_send_failed_spans{exporter=\"file\"}") == 4);
    assert_true(sample(r.body, "otelcol_process_uptime") >= uptime);
    oca_buf_free(&r.raw);

    stop(&loop, t);
    oca_counters_reset_registry();
}

static void test_other_paths_are_404_and_other_methods_405(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct oca_telemetry *t = start(&loop);
    uint16_t port = oca_telemetry_port(t);
    struct rawhttp_response r;
    static const char *const paths[] = { "/", "/metrics/", "/metricsx", "/debug/pprof" };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_equal(rawhttp_get(&loop, port, paths[i], &r), 404);
        oca_buf_free(&r.raw);
    }
    /* The query string does not change the path. */
    assert_int_equal(rawhttp_get(&loop, port, "/metrics?x=1", &r), 200);
    oca_buf_free(&r.raw);

    static const char *const methods[] = { "POST", "PUT", "DELETE" };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        char req[256];
        snprintf(req, sizeof(req),
                 "%s /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", methods[i]);
        assert_int_equal(rawhttp_exchange(&loop, port, req, &r), 0);
        assert_int_equal(r.status, 405);
        char allow[64];
        assert_true(rawhttp_header(&r, "allow", allow, sizeof(allow)));
        assert_string_equal(allow, "GET");
        oca_buf_free(&r.raw);
    }
    stop(&loop, t);
}

static void test_port_in_use_fails_the_start_and_leaves_the_loop_clean(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct oca_telemetry *t = start(&loop);
    char text[32];
    snprintf(text, sizeof(text), "127.0.0.1:%u", (unsigned)oca_telemetry_port(t));
    struct oca_endpoint taken = { "127.0.0.1", oca_telemetry_port(t), text };
    struct oca_telemetry *second = (struct oca_telemetry *)&taken;
    oca_log_set_level(OCA_LOG_NONE);
    int err = oca_telemetry_start(&loop, &taken, &second);
    oca_log_set_level(OCA_LOG_INFO);
    assert_int_not_equal(err, OCA_OK);
    assert_null(second);
    /* The first one still serves. */
    struct rawhttp_response r;
    assert_int_equal(rawhttp_get(&loop, oca_telemetry_port(t), "/metrics", &r), 200);
    oca_buf_free(&r.raw);
    stop(&loop, t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_show_counts_with_labels_and_process_metrics),
        cmocka_unit_test(test_other_paths_are_404_and_other_methods_405),
        cmocka_unit_test(test_port_in_use_fails_the_start_and_leaves_the_loop_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
