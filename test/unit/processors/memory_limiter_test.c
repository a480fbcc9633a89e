/* Tests of processors/memory_limiter.c with its memory readings replaced: batches pass while the
 * agent is below the soft limit (limit - spike, 20% of the limit by default) and are refused
 * retryably, and counted as refused, from the first reading above it until one below it; a
 * percentage limit is taken of the memory available; the Collector's validation rules. */
#include "testutil.h"

#include <string.h>

#include "base/arena.h"
#include "base/errors.h"
#include "pipeline/counters.h"
#include "processors/memory_limiter.h"

extern const struct oca_component_type oca_memory_limiter_processor;

#define MIB ((uint64_t)1 << 20)

static uint64_t fake_rss, fake_total;
static unsigned reads;

static uint64_t read_fake_rss(void)
{
    reads++;
    return fake_rss;
}

static uint64_t read_fake_total(void)
{
    return fake_total;
}

static ProtobufCMessage *span(struct oca_arena *a, size_t k, const void *arg)
{
    (void)k;
    (void)arg;
    Opentelemetry__Proto__Trace__V1__Span *sp = oca_arena_zalloc(a, sizeof(*sp));
    opentelemetry__proto__trace__v1__span__init(sp);
    return &sp->base;
}

static unsigned reads_at;

static bool read_again(void *arg)
{
    (void)arg;
    return reads > reads_at;
}

/* Runs the loop until the limiter has read memory again. */
static void next_reading(struct oca_test_harness *h)
{
    reads_at = reads;
    assert_true(oca_test_run_until(&h->loop, read_again, NULL, 5000));
}

static void test_refuses_above_the_soft_limit(void **state)
{
    (void)state;
    oca_memory_limiter_rss = read_fake_rss;
    fake_rss = 50 * MIB;
    struct oca_test_harness h;
    memset(&h, 0, sizeof(h));
    oca_test_harness_init(&h, &oca_memory_limiter_processor, "memory_limiter",
                          "check_interval: 10ms\nlimit_mib: 100\n", "processors.memory_limiter");
    assert_int_equal(h.comp.type->start(&h.comp, &h.loop), OCA_OK);
    assert_int_equal(oca_test_consume(&h, oca_test_make_batch(OCA_SIGNAL_TRACES, "svc", 3, span, NULL)), OCA_OK);
    assert_int_equal(h.fake.n, 1);

    /* 80 MiB is the soft limit of 100 with the default spike of 20%. */
    fake_rss = 80 * MIB;
    next_reading(&h);
    int err = oca_test_consume(&h, oca_test_make_batch(OCA_SIGNAL_TRACES, "svc", 4, span, NULL));
    assert_int_equal(err, OCA_ERR_MEMORY_LIMIT);
    assert_int_equal(oca_err_class(err), OCA_CLASS_RETRYABLE);
    assert_int_equal(h.fake.n, 1);

    fake_rss = 79 * MIB;
    next_reading(&h);
    assert_int_equal(oca_test_consume(&h, oca_test_make_batch(OCA_SIGNAL_TRACES, "svc", 5, span, NULL)), OCA_OK);
    assert_int_equal(h.fake.n, 2);
    assert_int_equal(h.counters.items[OCA_EDGE_ACCEPTED][OCA_SIGNAL_TRACES], 8);
    assert_int_equal(h.counters.items[OCA_EDGE_REFUSED][OCA_SIGNAL_TRACES], 4);
    oca_test_harness_free(&h);
}

static void test_spike_and_percentage(void **state)
{
    (void)state;
    oca_memory_limiter_rss = read_fake_rss;
    oca_memory_limiter_total = read_fake_total;
    fake_total = 1000 * MIB;
    /* 50% of 1000 MiB with a 10% spike: soft limit 400 MiB. */
    fake_rss = 399 * MIB;
    struct oca_test_harness h;
    memset(&h, 0, sizeof(h));
    oca_test_harness_init(&h, &oca_memory_limiter_processor, "memory_limiter",
                          "check_interval: 10ms\nlimit_percentage: 50\nspike_limit_percentage: 10\n",
                          "processors.memory_limiter");
    assert_int_equal(h.comp.type->start(&h.comp, &h.loop), OCA_OK);
    assert_int_equal(oca_test_consume(&h, oca_test_make_batch(OCA_SIGNAL_LOGS, "svc", 1, span, NULL)), OCA_OK);
    fake_rss = 401 * MIB;
    next_reading(&h);
    assert_int_equal(oca_test_consume(&h, oca_test_make_batch(OCA_SIGNAL_LOGS, "svc", 1, span, NULL)),
                     OCA_ERR_MEMORY_LIMIT);
    oca_test_harness_free(&h);

    /* An explicit spike in MiB: soft limit 100 - 10. */
    fake_rss = 89 * MIB;
    memset(&h, 0, sizeof(h));
    oca_test_harness_init(&h, &oca_memory_limiter_processor, "memory_limiter",
                          "check_interval: 10ms\nlimit_mib: 100\nspike_limit_mib: 10\n", "processors.memory_limiter");
    assert_int_equal(h.comp.type->start(&h.comp, &h.loop), OCA_OK);
    assert_int_equal(oca_test_consume(&h, oca_test_make_batch(OCA_SIGNAL_METRICS, "svc", 1, span, NULL)), OCA_OK);
    fake_rss = 90 * MIB;
    next_reading(&h);
    assert_int_equal(oca_test_consume(&h, oca_test_make_batch(OCA_SIGNAL_METRICS, "svc", 1, span, NULL)),
                     OCA_ERR_MEMORY_LIMIT);
    oca_test_harness_free(&h);
}

static void test_validation(void **state)
{
    (void)state;
    const struct oca_component_type *t = &oca_memory_limiter_processor;
    const char *path = "processors.memory_limiter";
    oca_test_expect_invalid(t, path, "limit_mib: 100", "processors.memory_limiter.check_interval: must be more than 0");
    oca_test_expect_invalid(t, path, "check_interval: 1s",
                            "processors.memory_limiter.limit_mib: limit_mib or limit_percentage must be set");
    oca_test_expect_invalid(t, path, "check_interval: 1s\nlimit_mib: 100\nspike_limit_mib: 100",
                            "processors.memory_limiter.spike_limit_mib: must be less than limit_mib");
    oca_test_expect_invalid(t, path, "check_interval: 1s\nlimit_percentage: 50\nspike_limit_percentage: 60",
                            "processors.memory_limiter.spike_limit_percentage: must be less than limit_percentage");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuses_above_the_soft_limit),
        cmocka_unit_test(test_spike_and_percentage),
        cmocka_unit_test(test_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
