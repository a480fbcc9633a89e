/* Tests of receivers/otlp/count.c: the items counted from the bytes alone equal the decoder's count
 * for every signal, in protobuf and JSON (both key spellings), fed whole or one byte at a time,
 * with items nested deep in attributes; and input it cannot follow only stops the count. */
#include "harness.h"

static const char traces_json[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"spans\",\"value\":{\"arrayValue\":{\"v"
    "alues\":[{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":{\"kvlistValue\":{\"values\":[{\"key"
    "\":\"spans\",\"value\":{\"stringValue\":\"[{}]\"}}]}}}]}}]}}}]},\"scopeSpans\":[{\"scope\":{\"name\""
    ":\"spans\"},\"spans\":[{\"name\":\"a\",\"events\":[{\"name\":\"e\"}],\"attributes\":[{\"key\":\"x\","
    "\"value\":{\"arrayValue\":{\"values\":[{\"arrayValue\":{\"values\":[{\"arrayValue\":{\"values\":[{\""
    "arrayValue\":{\"values\":[{\"arrayValue\":{\"values\":[{\"arrayValue\":{\"values\":[{\"arrayValue\":"
    "{\"values\":[{\"arrayValue\":{\"values\":[{\"arrayValue\":{\"values\":[{\"arrayValue\":{\"values\":["
    "{\"intValue\":\"1\"}]}}]}}]}}]}}]}}]}}]}}]}}]}}]}}}]},{\"name\":\"b\\\"}]\"},{}]},{\"spans\":[{\"nam"
    "e\":\"c\"}]}]},{\"resource_spans_not\":[{\"scopeSpans\":[{\"spans\":[{}]}]}]},{\"scope_spans\":[{\"s"
    "pans\":[{\"name\":\"d\"},{\"name\":\"e\"}]}]}]}";

static void expect_counts(enum oca_signal sig, const char *json, size_t want)
{
    struct oca_batch *b;
    char detail[256];
    if (oca_batch_decode(sig, OCA_ENCODING_JSON, (const uint8_t *)json, strlen(json), &b, detail, sizeof(detail)))
        fail_msg("%s", detail);
    assert_int_equal(b->items, want);
    size_t len;
    uint8_t *wire = oca_batch_pack(b, &len);
    assert_int_equal(oca_otlp_count_items(sig, OCA_ENCODING_JSON, (const uint8_t *)json, strlen(json)), want);
    assert_int_equal(oca_otlp_count_items(sig, OCA_ENCODING_PROTO, wire, len), want);
    struct oca_otlp_counter cj, cp;
    oca_otlp_counter_init(&cj, sig, OCA_ENCODING_JSON);
    oca_otlp_counter_init(&cp, sig, OCA_ENCODING_PROTO);
    for (size_t i = 0; i < strlen(json); i++)
        oca_otlp_counter_feed(&cj, (const uint8_t *)json + i, 1);
    for (size_t i = 0; i < len; i++)
        oca_otlp_counter_feed(&cp, wire + i, 1);
    assert_int_equal(cj.items, want);
    assert_int_equal(cp.items, want);
    assert_false(cj.dead);
    assert_false(cp.dead);
    free(wire);
    oca_batch_unref(b);
}

static void test_traces(void **state)
{
    (void)state;
    expect_counts(OCA_SIGNAL_TRACES, traces_json, 6);
    size_t len;
    uint8_t *wire = h_traces_proto(500, &len);
    assert_int_equal(oca_otlp_count_items(OCA_SIGNAL_TRACES, OCA_ENCODING_PROTO, wire, len), 500);
    free(wire);
}

static void test_metrics(void **state)
{
    (void)state;
    expect_counts(OCA_SIGNAL_METRICS, h_metrics_json, 2);
    expect_counts(OCA_SIGNAL_METRICS,
                  "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
                  "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"asInt\":\"1\"},{\"asInt\":\"2\"}]}},"
                  "{\"name\":\"s\",\"sum\":{\"dataPoints\":[{\"asDouble\":1.5,\"exemplars\":[{}]}]}},"
                  "{\"name\":\"h\",\"histogram\":{\"data_points\":[{\"count\":\"1\"}]}},"
                  "{\"name\":\"x\",\"exponential_histogram\":{\"dataPoints\":[{\"count\":\"1\",\"positive\":{}}]}},"
                  "{\"name\":\"q\",\"summary\":{\"dataPoints\":[{\"count\":\"1\"},{\"count\":\"2\"}]}},"
                  "{\"name\":\"empty\"}]}]},{\"resource_metrics\":[]}]}",
                  7);
}

static void test_logs(void **state)
{
    (void)state;
    expect_counts(OCA_SIGNAL_LOGS, h_logs_json, 1);
    expect_counts(OCA_SIGNAL_LOGS,
                  "{\"resource_logs\":[{\"scope_logs\":[{\"log_records\":[{\"body\":{\"kvlistValue\":{\"values\":"
                  "[{\"key\":\"logRecords\",\"value\":{\"arrayValue\":{\"values\":[{}]}}}]}}},{},{}]}]}]}",
                  3);
    expect_counts(OCA_SIGNAL_LOGS, "{}", 0);
}

static void test_what_it_cannot_follow(void **state)
{
    (void)state;
    /* Garbage only stops the count; it never reads past its input. */
    static const uint8_t junk[] = { 0x0b, 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++) {
        assert_int_equal(oca_otlp_count_items((enum oca_signal)sig, OCA_ENCODING_PROTO, junk, sizeof(junk)), 0);
        assert_int_equal(oca_otlp_count_items((enum oca_signal)sig, OCA_ENCODING_JSON, junk, sizeof(junk)), 0);
    }
    assert_int_equal(oca_otlp_count_items(OCA_SIGNAL_TRACES, OCA_ENCODING_JSON, (const uint8_t *)"]]]}}}", 6), 0);
    /* A truncated request counts what came before the cut. */
    size_t len;
    uint8_t *wire = h_traces_proto(10, &len);
    uint64_t n = oca_otlp_count_items(OCA_SIGNAL_TRACES, OCA_ENCODING_PROTO, wire, len / 2);
    assert_true(n <= 10);
    free(wire);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traces),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_logs),
        cmocka_unit_test(test_what_it_cannot_follow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
