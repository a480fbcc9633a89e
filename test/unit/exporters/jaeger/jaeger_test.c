/* Tests of exporters/jaeger/jaeger.c that need no collector: the config rules, a collector that
 * cannot be reached (the batch fails retryably and, with retries off, is counted as failed), and
 * shutdown answering every call. Sending to a real gRPC server is test/integration/jaeger.test.mjs. */
#include "testutil.h"

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

extern const struct oca_component_type oca_jaeger_exporter;

/* Decodes and validates yaml; returns the number of errors, their text in *text (malloc'd). */
static int config_errors(const char *yaml, char **text)
{
    struct oca_arena *a = oca_arena_new(1024);
    struct oca_diag diag;
    void *cfg;
    oca_diag_init(&diag);
    int n = oca_test_decode_config(a, &oca_jaeger_exporter, yaml, "exporters.jaeger", &diag, &cfg);
    if (n == 0 && oca_jaeger_exporter.validate(cfg, &diag) != OCA_OK)
        n = diag.errors;
    *text = strdup(diag.text.data ? diag.text.data : "");
    oca_diag_free(&diag);
    oca_arena_destroy(a);
    return n;
}

static void expect_error(const char *yaml, const char *needle)
{
    char *text;
    if (config_errors(yaml, &text) == 0 || !strstr(text, needle))
        fail_msg("%s: expected an error with \"%s\", got \"%s\"", yaml, needle, text);
    free(text);
}

static void test_config(void **state)
{
    (void)state;
    char *text;
    assert_int_equal(config_errors(NULL, &text), 0);
    free(text);
    assert_int_equal(config_errors("endpoint: \"[::1]:14250\"\ntls: {insecure: true}\ncompression: gzip\n"
                                   "headers: {X-Tenant: a}\ntimeout: 1s\n", &text), 0);
    free(text);
    expect_error("endpoint: \":14250\"\n", "endpoint");
    expect_error("compression: brotli\n", "compression");
    expect_error("tls: {cert_file: /nonexistent.pem}\n", "tls");
    expect_error("balancer_name: round_robin\n", "unknown key");
    /* The push exporter's header check: metadata names are tokens, values carry no CR/LF. */
    expect_error("headers: {\"x tenant\": a}\n", "exporters.jaeger.headers: \"x tenant\" is not a valid header name");
    expect_error("headers: {x-tenant: \"a\\r\\nx-admin: 1\"}\n",
                 "exporters.jaeger.headers: the value of x-tenant may not contain control characters");
    expect_error("retry_on_failure: {initial_interval: 10s, max_elapsed_time: 5s}\n", "max_elapsed_time");
}

static ProtobufCMessage *make_span(struct oca_arena *a, size_t k, const void *arg)
{
    (void)arg;
    Opentelemetry__Proto__Trace__V1__Span *s = (void *)oca_test_new_message(a, &opentelemetry__proto__trace__v1__span__descriptor);
    uint8_t *ids = oca_arena_zalloc(a, 24);
    ids[0] = 1;
    ids[16] = (uint8_t)(k + 1);
    s->trace_id = (ProtobufCBinaryData){ 16, ids };
    s->span_id = (ProtobufCBinaryData){ 8, ids + 16 };
    return &s->base;
}

static bool failed_three(void *arg)
{
    const struct oca_test_harness *h = arg;
    return h->counters.items[OCA_EDGE_SEND_FAILED][OCA_SIGNAL_TRACES] >= 3;
}

/* Nothing listens on port 1: the call fails as UNAVAILABLE, and with retries off the batch's spans
 * are counted as failed, none as sent. */
static void test_unreachable_collector(void **state)
{
    (void)state;
    struct oca_test_harness h;
    memset(&h, 0, sizeof(h));
    oca_test_harness_init(&h, &oca_jaeger_exporter, "jaeger/test",
                          "endpoint: 127.0.0.1:1\ntls: {insecure: true}\nretry_on_failure: {enabled: false}\n",
                          "exporters.jaeger");
    assert_int_equal(oca_jaeger_exporter.start(&h.comp, &h.loop), OCA_OK);
    assert_int_equal(oca_test_consume(&h, oca_test_make_batch(OCA_SIGNAL_TRACES, "svc", 3, make_span, NULL)), OCA_OK);
    assert_true(oca_test_run_until(&h.loop, failed_three, &h, 10000));
    assert_int_equal(h.counters.items[OCA_EDGE_SEND_FAILED][OCA_SIGNAL_TRACES], 3);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_TRACES], 0);
    /* A batch without spans needs no call and is done at once. */
    assert_int_equal(oca_test_consume(&h, oca_batch_new(OCA_SIGNAL_TRACES)), OCA_OK);
    oca_test_harness_shutdown(&h);
    assert_int_equal(h.done_calls, 1);
    /* A second shutdown after the first finished is answered too. */
    oca_jaeger_exporter.shutdown(&h.comp, oca_test_on_done);
    assert_int_equal(h.done_calls, 2);
    oca_test_harness_free(&h);
}

/* Without start there is nothing to drain: shutdown answers at once, every time. */
static void test_shutdown_without_start(void **state)
{
    (void)state;
    struct oca_test_harness h;
    memset(&h, 0, sizeof(h));
    oca_test_harness_init(&h, &oca_jaeger_exporter, "jaeger/test", NULL, "exporters.jaeger");
    oca_jaeger_exporter.shutdown(&h.comp, oca_test_on_done);
    oca_jaeger_exporter.shutdown(&h.comp, oca_test_on_done);
    assert_int_equal(h.done_calls, 2);
    oca_test_harness_free(&h);
}

int main(void)
{
    oca_log_set_level(OCA_LOG_NONE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_unreachable_collector),
        cmocka_unit_test(test_shutdown_without_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
