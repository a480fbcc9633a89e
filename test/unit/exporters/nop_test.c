/* Tests of exporters/nop.c: every item of every signal is counted as sent and nothing else is
 * counted; a config with any key is refused; shutdown answers once per call, without start. */
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

extern const struct oca_component_type oca_nop_exporter;

static ProtobufCMessage *make_item(struct oca_arena *a, size_t k, const void *arg)
{
    (void)k;
    return oca_test_new_message(a, arg);
}

static void test_counts_every_signal(void **state)
{
    (void)state;
    struct oca_test_harness h;
    memset(&h, 0, sizeof(h));
    oca_test_harness_init(&h, &oca_nop_exporter, "nop/test", NULL, "exporters.nop");
    assert_int_equal(oca_test_consume(&h, oca_test_make_batch(OCA_SIGNAL_TRACES, "svc", 7, make_item,
                                                              &opentelemetry__proto__trace__v1__span__descriptor)),
                     OCA_OK);
    assert_int_equal(oca_test_consume(&h, oca_test_make_batch(OCA_SIGNAL_TRACES, NULL, 3, make_item,
                                                              &opentelemetry__proto__trace__v1__span__descriptor)),
                     OCA_OK);
    assert_int_equal(oca_test_consume(&h, oca_test_make_batch(OCA_SIGNAL_LOGS, NULL, 2, make_item,
                                                              &opentelemetry__proto__logs__v1__log_record__descriptor)),
                     OCA_OK);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_TRACES], 10);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_LOGS], 2);
    assert_int_equal(h.counters.items[OCA_EDGE_SENT][OCA_SIGNAL_METRICS], 0);
    assert_int_equal(h.counters.items[OCA_EDGE_SEND_FAILED][OCA_SIGNAL_TRACES], 0);
    assert_int_equal(h.counters.items[OCA_EDGE_DROPPED][OCA_SIGNAL_TRACES], 0);
    oca_test_harness_shutdown(&h);
    assert_int_equal(h.done_calls, 1);
    oca_nop_exporter.shutdown(&h.comp, oca_test_on_done);
    assert_int_equal(h.done_calls, 2);
    oca_test_harness_free(&h);
}

static void test_rejects_keys(void **state)
{
    (void)state;
    struct oca_arena *a = oca_arena_new(1024);
    struct oca_diag diag;
    void *cfg;
    oca_diag_init(&diag);
    assert_int_equal(oca_test_decode_config(a, &oca_nop_exporter, "verbosity: basic\n", "exporters.nop", &diag, &cfg), 1);
    assert_non_null(strstr(diag.text.data, "unknown key"));
    oca_diag_free(&diag);
    oca_arena_destroy(a);
}

int main(void)
{
    oca_log_set_level(OCA_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_every_signal),
        cmocka_unit_test(test_rejects_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
