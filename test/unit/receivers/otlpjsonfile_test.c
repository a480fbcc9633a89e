/* Tests of receivers/otlpjsonfile.c on a real loop and real files: start_at beginning and end,
 * appended lines, a partial line waiting for its newline, bad and overlong lines skipped while the
 * next good one arrives, a retryable refusal offering the same line again, truncation, lines of
 * several signals, and validation. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/arena.h"
#include "base/errors.h"
#include "base/log.h"
#include "config/diag.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"

extern const struct oca_component_type oca_otlpjsonfile_receiver;

static void path_in(const struct oca_test_harness *h, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", h->dir, name);
}

static void write_to(const struct oca_test_harness *h, const char *name, const char *mode, const char *text)
{
    char p[256];
    path_in(h, name, p, sizeof(p));
    FILE *f = fopen(p, mode);
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Creates a directory, then the receiver with include set to every .json file in it, plus extra_yaml. */
static void setup(struct oca_test_harness *h, const char *extra_yaml)
{
    memset(h, 0, sizeof(*h));
    oca_test_make_dir(h->dir, sizeof(h->dir), "oca-jsonfile-test");
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "include: [\"%s/*.json\"]\nexclude: [\"%s/skip*\"]\n%s%s", h->dir, h->dir,
             strstr(extra_yaml, "poll_interval") ? "" : "poll_interval: 10ms\n", extra_yaml);
    oca_test_harness_init(h, &oca_otlpjsonfile_receiver, "otlpjsonfile", yaml, "receivers.otlpjsonfile");
}

static void start(struct oca_test_harness *h)
{
    assert_int_equal(oca_otlpjsonfile_receiver.start(&h->comp, &h->loop), OCA_OK);
}

static bool never(void *arg)
{
    (void)arg;
    return false;
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

static bool wait_for(struct oca_test_harness *h, size_t n)
{
    struct count_cond c = { h, n };
    return oca_test_run_until(&h->loop, got_n, &c, 5000);
}

/* Lets the receiver poll several times (poll_interval is 10ms). */
static void run_polls(struct oca_test_harness *h)
{
    oca_test_run_until(&h->loop, never, NULL, 80);
}

/* An OTLP/JSON traces line with n spans named name-0, name-1, ... */
static char *spans_line(const char *name, int n)
{
    static char buf[8192];
    int off = snprintf(buf, sizeof(buf),
                       "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
                       "{\"stringValue\":\"svc\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"lib\"},\"spans\":[");
    for (int k = 0; k < n; k++)
        off += snprintf(buf + off, sizeof(buf) - (size_t)off,
                        "%s{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b17%d\","
                        "\"name\":\"%s-%d\",\"kind\":2,\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}",
                        k ? "," : "", k % 10, name, k);
    snprintf(buf + off, sizeof(buf) - (size_t)off, "]}]}]}\n");
    return buf;
}

static const char *const METRICS_LINE =
    "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"m\",\"gauge\":{\"dataPoints\":"
    "[{\"asInt\":\"5\"},{\"asDouble\":1.5}]}}]}]}]}\n";
static const char *const LOGS_LINE =
    "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityText\":\"INFO\",\"body\":{\"stringValue\":"
    "\"hello\"}}]}]}]}\n";

static const char *first_span_name(const struct oca_batch *b)
{
    assert_int_equal(b->signal, OCA_SIGNAL_TRACES);
    return b->traces->resource_spans[0]->scope_spans[0]->spans[0]->name;
}

static void test_beginning_reads_existing_then_appended(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "start_at: beginning\n");
    write_to(&h, "a.json", "w", spans_line("first", 2));
    write_to(&h, "a.json", "a", spans_line("second", 3));
    write_to(&h, "skip-me.json", "w", spans_line("excluded", 1));
    write_to(&h, "other.txt", "w", spans_line("not-matched", 1));
    struct oca_test_capture cap;
    oca_log_set_level(OCA_LOG_DEBUG);
    oca_test_capture_start(&cap);
    start(&h);
    assert_true(wait_for(&h, 2));
    char *log = oca_test_capture_end(&cap);
    oca_log_set_level(OCA_LOG_INFO);
    char expect[256];
    snprintf(expect, sizeof(expect), "read 3 spans from %s/a.json:2", h.dir);
    assert_non_null(strstr(log, expect));
    free(log);
    assert_string_equal(first_span_name(h.fake.got[0]), "first-0");
    assert_int_equal(h.fake.got[0]->items, 2);
    assert_string_equal(first_span_name(h.fake.got[1]), "second-0");
    assert_int_equal(h.fake.got[1]->items, 3);
    write_to(&h, "a.json", "a", spans_line("third", 1));
    write_to(&h, "a.json", "a", METRICS_LINE);
    write_to(&h, "a.json", "a", LOGS_LINE);
    assert_true(wait_for(&h, 5));
    assert_string_equal(first_span_name(h.fake.got[2]), "third-0");
    assert_int_equal(h.fake.got[3]->signal, OCA_SIGNAL_METRICS);
    assert_int_equal(h.fake.got[3]->items, 2);
    assert_int_equal(h.fake.got[4]->signal, OCA_SIGNAL_LOGS);
    run_polls(&h);
    assert_int_equal(h.fake.n, 5);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_TRACES], 6);
    oca_test_harness_free(&h);
}

static void test_partial_line_waits(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "start_at: beginning\n");
    const char *line = spans_line("whole", 1);
    size_t half = strlen(line) / 2;
    char part[4096];
    snprintf(part, sizeof(part), "%.*s", (int)half, line);
    write_to(&h, "p.json", "w", part);
    start(&h);
    run_polls(&h);
    assert_int_equal(h.fake.calls, 0);
    write_to(&h, "p.json", "a", line + half);
    assert_true(wait_for(&h, 1));
    assert_string_equal(first_span_name(h.fake.got[0]), "whole-0");
    oca_test_harness_free(&h);
}

static void test_bad_lines_skipped(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "start_at: beginning\nmax_log_size: 600\n");
    char longline[1024];
    memset(longline, ' ', 800);
    memcpy(longline, "{\"resourceSpans\":[]}", 20);
    longline[800] = '\n';
    longline[801] = '\0';
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    write_to(&h, "b.json", "w", "this is not json\n");
    write_to(&h, "b.json", "a", "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"xyz\"}]}]}]}\n");
    write_to(&h, "b.json", "a", longline);
    write_to(&h, "b.json", "a", "\n");
    write_to(&h, "b.json", "a", spans_line("good", 1));
    start(&h);
    assert_true(wait_for(&h, 1));
    run_polls(&h);
    char *log = oca_test_capture_end(&cap);
    assert_int_equal(h.fake.n, 1);
    assert_string_equal(first_span_name(h.fake.got[0]), "good-0");
    char expect[256];
    snprintf(expect, sizeof(expect), "%s/b.json:1: ", h.dir);
    assert_non_null(strstr(log, expect));
    snprintf(expect, sizeof(expect), "%s/b.json:2: ", h.dir);
    assert_non_null(strstr(log, expect));
    assert_non_null(strstr(log, "traceId"));
    snprintf(expect, sizeof(expect), "%s/b.json:3: line of 800 bytes is longer than max_log_size", h.dir);
    assert_non_null(strstr(log, expect));
    free(log);
    oca_test_harness_free(&h);
}

static void test_overlong_partial_line_is_skipped(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "start_at: beginning\nmax_log_size: 100\n");
    char junk[301];
    memset(junk, 'j', 300);
    junk[300] = '\0';
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    /* Too long before its newline arrives: dropped as it comes, not buffered. */
    write_to(&h, "c.json", "w", junk);
    start(&h);
    run_polls(&h);
    write_to(&h, "c.json", "a", junk);
    write_to(&h, "c.json", "a", "\n");
    write_to(&h, "c.json", "a", spans_line("after", 1));
    run_polls(&h);
    char *log = oca_test_capture_end(&cap);
    assert_int_equal(h.fake.n, 0);   /* the good line is longer than 100 bytes too */
    assert_non_null(strstr(log, "c.json:1: line longer than max_log_size"));
    assert_non_null(strstr(log, "c.json:2: line of"));
    free(log);
    oca_test_harness_free(&h);
}

static void test_retryable_refusal_retries_line(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "start_at: beginning\n");
    h.fake.refuse_with = OCA_ERR_QUEUE_FULL;
    h.fake.refuse_left = 3;
    write_to(&h, "r.json", "w", spans_line("a", 1));
    write_to(&h, "r.json", "a", spans_line("b", 2));
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    start(&h);
    assert_true(wait_for(&h, 2));
    run_polls(&h);
    char *log = oca_test_capture_end(&cap);
    assert_int_equal(h.fake.n, 2);
    assert_int_equal(h.fake.calls, 5);
    assert_string_equal(first_span_name(h.fake.got[0]), "a-0");
    assert_string_equal(first_span_name(h.fake.got[1]), "b-0");
    /* One warning for the refused line, not one per poll. */
    assert_non_null(strstr(log, "r.json:1: the pipeline refused 1 spans"));
    assert_null(strstr(strstr(log, "r.json:1: the pipeline refused") + 1, "r.json:1: the pipeline refused"));
    free(log);
    assert_int_equal(h.counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_TRACES], 3);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_TRACES], 3);
    oca_test_harness_free(&h);
}

static void test_permanent_refusal_skips_line(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "start_at: beginning\n");
    h.fake.refuse_with = OCA_ERR_INVALID;
    h.fake.refuse_left = 1;
    write_to(&h, "r.json", "w", spans_line("a", 1));
    write_to(&h, "r.json", "a", spans_line("b", 1));
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    start(&h);
    assert_true(wait_for(&h, 1));
    run_polls(&h);
    char *log = oca_test_capture_end(&cap);
    assert_int_equal(h.fake.n, 1);
    assert_string_equal(first_span_name(h.fake.got[0]), "b-0");
    assert_non_null(strstr(log, "r.json:1: the pipeline rejected 1 spans (INVALID"));
    free(log);
    oca_test_harness_free(&h);
}

static void test_start_at_end(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "");
    const char *line = spans_line("old", 1);
    write_to(&h, "e.json", "w", line);
    char part[64];
    snprintf(part, sizeof(part), "%.20s", line);
    write_to(&h, "e.json", "a", part);
    start(&h);
    run_polls(&h);
    assert_int_equal(h.fake.calls, 0);
    /* The rest of the partial line is not read from its middle. */
    write_to(&h, "e.json", "a", line + 20);
    write_to(&h, "e.json", "a", spans_line("new", 1));
    /* A file appearing after the first poll is read from its start. */
    write_to(&h, "later.json", "w", spans_line("later", 1));
    assert_true(wait_for(&h, 2));
    run_polls(&h);
    assert_int_equal(h.fake.n, 2);
    bool new_seen = false, later_seen = false;
    for (size_t k = 0; k < 2; k++) {
        new_seen |= strcmp(first_span_name(h.fake.got[k]), "new-0") == 0;
        later_seen |= strcmp(first_span_name(h.fake.got[k]), "later-0") == 0;
    }
    assert_true(new_seen && later_seen);
    oca_test_harness_free(&h);
}

static void test_truncation_starts_over(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "start_at: beginning\n");
    write_to(&h, "t.json", "w", spans_line("before", 3));
    start(&h);
    assert_true(wait_for(&h, 1));
    write_to(&h, "t.json", "w", spans_line("after", 1));
    assert_true(wait_for(&h, 2));
    assert_string_equal(first_span_name(h.fake.got[1]), "after-0");
    oca_test_harness_free(&h);
}

static void test_line_with_two_signals(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "start_at: beginning\n");
    write_to(&h, "m.json", "w",
             "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"x\"}]}]}],"
             "\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityText\":\"INFO\"}]}]}]}\n");
    /* The logs part is refused once: only it is offered again, the spans are not repeated. */
    h.fake.refuse_with = OCA_ERR_QUEUE_FULL;
    h.fake.refuse_left = 1;
    h.fake.refuse_sigs = OCA_LOGS;
    start(&h);
    assert_true(wait_for(&h, 2));
    run_polls(&h);
    assert_int_equal(h.fake.calls, 3);
    assert_int_equal(h.fake.n, 2);
    assert_int_equal(h.fake.got[0]->signal, OCA_SIGNAL_TRACES);
    assert_int_equal(h.fake.got[1]->signal, OCA_SIGNAL_LOGS);
    oca_test_harness_free(&h);
}

static void test_big_file_read_without_waiting_for_the_interval(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "start_at: beginning\npoll_interval: 1h\n");
    h.fake.count_only = true;
    char *line = strdup(spans_line("big", 5));
    char path[256];
    path_in(&h, "big.json", path, sizeof(path));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    size_t bytes = 0;
    for (int k = 0; k < 4000; k++) {
        fputs(line, f);
        bytes += strlen(line);
    }
    fclose(f);
    free(line);
    /* Several times the per-poll read budget, so several polls, none waiting for the hour. */
    assert_true(bytes > 3u << 20);
    start(&h);
    struct count_cond c = { &h, 4000 };
    assert_true(oca_test_run_until(&h.loop, got_n, &c, 20000));
    assert_int_equal(h.fake.n, 4000);
    assert_int_equal(h.fake.items, 20000);
    oca_test_harness_free(&h);
}

static void test_validate_and_shutdown_without_start(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    struct oca_diag diag;
    void *cfg;
    oca_diag_init(&diag);
    assert_int_equal(oca_test_decode_config(a, &oca_otlpjsonfile_receiver, NULL, "receivers.otlpjsonfile", &diag, &cfg), 0);
    assert_int_equal(oca_otlpjsonfile_receiver.validate(cfg, &diag), OCA_ERR_CONFIG);
    assert_non_null(strstr(diag.text.data, "include must list at least one glob"));
    oca_diag_free(&diag);

    struct oca_test_harness h;
    memset(&h, 0, sizeof(h));
    assert_int_equal(uv_loop_init(&h.loop), 0);
    h.comp.type = &oca_otlpjsonfile_receiver;
    h.comp.id = "otlpjsonfile";
    h.comp.config = cfg;
    assert_int_equal(oca_otlpjsonfile_receiver.create(&h.comp, NULL), OCA_OK);
    oca_otlpjsonfile_receiver.shutdown(&h.comp, oca_test_on_done);
    oca_otlpjsonfile_receiver.shutdown(&h.comp, oca_test_on_done);
    assert_int_equal(h.done_calls, 2);
    oca_otlpjsonfile_receiver.destroy(&h.comp);
    assert_int_equal(uv_loop_close(&h.loop), 0);
    oca_arena_destroy(a);
}

static void test_shutdown_twice_after_start(void **state)
{
    (void)state;
    struct oca_test_harness h;
    setup(&h, "start_at: beginning\n");
    start(&h);
    oca_otlpjsonfile_receiver.shutdown(&h.comp, oca_test_on_done);
    oca_otlpjsonfile_receiver.shutdown(&h.comp, oca_test_on_done);
    assert_true(oca_test_run_until(&h.loop, oca_test_done_called, &h, 5000));
    uv_run(&h.loop, UV_RUN_NOWAIT);
    assert_int_equal(h.done_calls, 2);
    oca_test_harness_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_beginning_reads_existing_then_appended),
        cmocka_unit_test(test_partial_line_waits),
        cmocka_unit_test(test_bad_lines_skipped),
        cmocka_unit_test(test_overlong_partial_line_is_skipped),
        cmocka_unit_test(test_retryable_refusal_retries_line),
        cmocka_unit_test(test_permanent_refusal_skips_line),
        cmocka_unit_test(test_start_at_end),
        cmocka_unit_test(test_truncation_starts_over),
        cmocka_unit_test(test_line_with_two_signals),
        cmocka_unit_test(test_big_file_read_without_waiting_for_the_interval),
        cmocka_unit_test(test_validate_and_shutdown_without_start),
        cmocka_unit_test(test_shutdown_twice_after_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
