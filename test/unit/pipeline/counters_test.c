/* pipeline/counters.c: one block per (kind, id), and the exposition text with the Collector's
 * metric names and labels. */
#include "testutil.h"

#include <string.h>

#include "pipeline/counters.h"

static void test_register_shares_blocks_by_id(void **state)
{
    (void)state;
    struct oca_counters *a = oca_counters_register(OCA_PROCESSOR, "batch");
    struct oca_counters *b = oca_counters_register(OCA_PROCESSOR, "batch");
    struct oca_counters *c = oca_counters_register(OCA_EXPORTER, "batch");
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    oca_counters_reset_registry();
}

static void test_render(void **state)
{
    (void)state;
    struct oca_counters *rx = oca_counters_register(OCA_RECEIVER, "otlp");
    struct oca_counters *ex = oca_counters_register(OCA_EXPORTER, "file/\"x\"");
    oca_counters_add(rx, OCA_EDGE_ACCEPTED, OCA_SIGNAL_TRACES, 5);
    oca_counters_add(rx, OCA_EDGE_REFUSED, OCA_SIGNAL_LOGS, 2);
    oca_counters_add(rx, OCA_EDGE_DROPPED, OCA_SIGNAL_METRICS, 4);
    oca_counters_add(ex, OCA_EDGE_SENT, OCA_SIGNAL_METRICS, 7);
    oca_counters_add(NULL, OCA_EDGE_SENT, OCA_SIGNAL_METRICS, 7);   /* harmless without a block */
    ex->queue_size = 3;
    ex->queue_capacity = 1000;
    struct oca_buf out = { 0 };
    oca_counters_render(&out);
    assert_non_null(strstr(out.data, "# TYPE otelcol_receiver_accepted_spans counter\n"
                                     "otelcol_receiver_accepted_spans{receiver=\"otlp\"} 5\n"));
    assert_non_null(strstr(out.data, "otelcol_receiver_refused_log_records{receiver=\"otlp\"} 2\n"));
    assert_non_null(strstr(out.data, "# TYPE otelcol_receiver_dropped_metric_points counter\n"
                                     "otelcol_receiver_dropped_metric_points{receiver=\"otlp\"} 4\n"));
    assert_non_null(strstr(out.data, "otelcol_receiver_dropped_spans{receiver=\"otlp\"} 0\n"));
    assert_non_null(strstr(out.data, "otelcol_exporter_sent_metric_points{exporter=\"file/\\\"x\\\"\"} 7\n"));
    assert_non_null(strstr(out.data, "otelcol_exporter_queue_size{exporter=\"file/\\\"x\\\"\"} 3\n"));
    assert_non_null(strstr(out.data, "otelcol_exporter_queue_capacity{exporter=\"file/\\\"x\\\"\"} 1000\n"));
    assert_null(strstr(out.data, "processor"));   /* no processor registered, no processor series */
    oca_buf_free(&out);
    oca_counters_reset_registry();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_shares_blocks_by_id),
        cmocka_unit_test(test_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
