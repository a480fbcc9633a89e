/* Tests of exporters/exporterhelper/backoff.c, step by step with chosen random numbers: the
 * randomized range, growth by the multiplier, the cap at max_interval, giving up when the next
 * wait would pass max_elapsed_time, and the backend's asked delay (waited in full, or given up). */
#include "testutil.h"

#include "exporters/exporterhelper/backoff.h"

#define MS OCA_NS_PER_MS
#define S OCA_NS_PER_S

static const struct oca_retry_config defaults = {
    .enabled = true, .initial_interval_ns = 5 * S, .randomization_factor = 0.5, .multiplier = 1.5,
    .max_interval_ns = 30 * S, .max_elapsed_time_ns = 300 * S,
};

static void test_default_sequence_without_jitter(void **state)
{
    (void)state;
    struct oca_retry_config c = defaults;
    c.randomization_factor = 0;
    c.max_elapsed_time_ns = 0;
    struct oca_backoff b;
    oca_backoff_start(&b, &c, 0);
    /* 5s growing by 1.5 until the 30s cap. */
    static const int64_t want[] = { 5000, 7500, 11250, 16875, 25312, 30000, 30000, 30000 };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int64_t w = oca_backoff_next(&b, (int64_t)i * 1000 * S, 0.3, 0);
        assert_int_equal(w / MS, want[i]);
    }
}

static void test_randomized_range(void **state)
{
    (void)state;
    struct oca_backoff b;
    /* random 0 gives the low end, random just below 1 the high end (+1 ns at most). */
    oca_backoff_start(&b, &defaults, 0);
    assert_int_equal(oca_backoff_next(&b, 0, 0.0, 0), 2500 * MS);
    assert_int_equal(oca_backoff_next(&b, 0, 0.0, 0), 3750 * MS);  /* 7.5s * 0.5 */
    oca_backoff_start(&b, &defaults, 0);
    int64_t hi = oca_backoff_next(&b, 0, 0.999999999999, 0);
    assert_true(hi >= 7500 * MS - 10 && hi <= 7500 * MS + 1);
    oca_backoff_start(&b, &defaults, 0);
    assert_int_equal(oca_backoff_next(&b, 0, 0.5, 0), 5000 * MS);
    /* Every draw lies within current * [1 - f, 1 + f], and the growth does not depend on it. */
    oca_backoff_start(&b, &defaults, 0);
    int64_t current = 5 * S;
    for (int i = 0; i < 20; i++) {
        double r = (double)((i * 7919) % 1000) / 1000.0;
        int64_t w = oca_backoff_next(&b, 0, r, 0);
        assert_true(w >= current / 2 && w <= current * 3 / 2 + 1);
        current = current * 3 / 2 > 30 * S ? 30 * S : current * 3 / 2;
    }
}

static void test_max_elapsed(void **state)
{
    (void)state;
    struct oca_retry_config c = defaults;
    c.randomization_factor = 0;
    c.max_elapsed_time_ns = 20 * S;
    struct oca_backoff b;
    oca_backoff_start(&b, &c, 1000 * S);
    assert_int_equal(oca_backoff_next(&b, 1000 * S, 0, 0), 5 * S);     /* 0 + 5 <= 20 */
    assert_int_equal(oca_backoff_next(&b, 1005 * S, 0, 0), 7500 * MS); /* 5 + 7.5 <= 20 */
    /* 12.5 + 11.25 > 20: stop, though the interval itself is below the limit. */
    assert_int_equal(oca_backoff_next(&b, 1012500 * MS, 0, 0), OCA_BACKOFF_STOP);
    /* Exactly at the limit still goes. */
    oca_backoff_start(&b, &c, 0);
    assert_int_equal(oca_backoff_next(&b, 15 * S, 0, 0), 5 * S);
    /* 0: forever. */
    c.max_elapsed_time_ns = 0;
    oca_backoff_start(&b, &c, 0);
    assert_int_equal(oca_backoff_next(&b, INT64_C(1000000) * S, 0, 0), 5 * S);
}

static void test_asked_delay(void **state)
{
    (void)state;
    struct oca_retry_config c = defaults;
    c.randomization_factor = 0;
    struct oca_backoff b;
    oca_backoff_start(&b, &c, 0);
    /* Longer than the backoff: waited in full. Shorter: the backoff wins. */
    assert_int_equal(oca_backoff_next(&b, 0, 0, 42 * S), 42 * S);
    assert_int_equal(oca_backoff_next(&b, 42 * S, 0, 1 * S), 7500 * MS);
    /* The interval kept growing underneath the asked delay. */
    assert_int_equal(oca_backoff_next(&b, 50 * S, 0, 0), 11250 * MS);
    /* An asked delay that would pass max_elapsed_time gives up. */
    oca_backoff_start(&b, &c, 0);
    assert_int_equal(oca_backoff_next(&b, 200 * S, 0, 101 * S), OCA_BACKOFF_STOP);
    oca_backoff_start(&b, &c, 0);
    assert_int_equal(oca_backoff_next(&b, 200 * S, 0, 100 * S), 100 * S);
}

static void test_large_multiplier_caps(void **state)
{
    (void)state;
    struct oca_retry_config c = defaults;
    c.randomization_factor = 0;
    c.multiplier = 100;
    c.initial_interval_ns = 3600 * S;
    c.max_interval_ns = 24 * 3600 * S;
    c.max_elapsed_time_ns = 0;
    struct oca_backoff b;
    oca_backoff_start(&b, &c, 0);
    assert_int_equal(oca_backoff_next(&b, 0, 0, 0), 3600 * S);
    for (int i = 0; i < 50; i++)
        assert_int_equal(oca_backoff_next(&b, 0, 0, 0), 24 * 3600 * S);
    /* An initial interval above the cap is used once, then the cap. */
    c.initial_interval_ns = 60 * S;
    c.max_interval_ns = 10 * S;
    c.multiplier = 1.5;
    oca_backoff_start(&b, &c, 0);
    assert_int_equal(oca_backoff_next(&b, 0, 0, 0), 60 * S);
    assert_int_equal(oca_backoff_next(&b, 0, 0, 0), 10 * S);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_sequence_without_jitter),
        cmocka_unit_test(test_randomized_range),
        cmocka_unit_test(test_max_elapsed),
        cmocka_unit_test(test_asked_delay),
        cmocka_unit_test(test_large_multiplier_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
