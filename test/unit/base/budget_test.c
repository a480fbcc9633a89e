/* Tests of base/budget.c: charges up to the limit and no further, the permanent refusal of a charge
 * larger than the whole limit, admission, forced charges, peaks and refusal counts, and that batches give their
 * charge back when the last reference goes (pipeline/batch.c's hook), clones included. */
#include "testutil.h"

#include <pthread.h>
#include <string.h>

#include "base/budget.h"
#include "base/errors.h"
#include "pipeline/batch.h"

static int reset(void **state)
{
    (void)state;
    oca_budget_reset_stats();
    assert_int_equal(oca_budget_used(), 0);
    return 0;
}

static void test_default_limit(void **state)
{
    (void)state;
    assert_int_equal(oca_budget_limit(), OCA_BUDGET_DEFAULT_LIMIT);
    assert_int_equal(OCA_BUDGET_DEFAULT_LIMIT, 40u << 20);
}

static void test_charge_up_to_the_limit(void **state)
{
    (void)state;
    oca_budget_set_limit(1000);
    assert_int_equal(oca_budget_charge(600), OCA_OK);
    assert_int_equal(oca_budget_charge(400), OCA_OK);
    assert_int_equal(oca_budget_used(), 1000);
    /* Full: even one byte is refused, retryably, and nothing is taken. */
    assert_int_equal(oca_budget_charge(1), OCA_ERR_MEMORY_LIMIT);
    assert_true(oca_err_retryable(OCA_ERR_MEMORY_LIMIT));
    assert_int_equal(oca_budget_used(), 1000);
    oca_budget_release(400);
    assert_int_equal(oca_budget_charge(401), OCA_ERR_MEMORY_LIMIT);
    assert_int_equal(oca_budget_charge(400), OCA_OK);
    oca_budget_release(1000);
    assert_int_equal(oca_budget_used(), 0);
    assert_int_equal(oca_budget_peak(), 1000);
    assert_int_equal(oca_budget_refusals(), 2);
}

static void test_larger_than_the_whole_limit_is_permanent(void **state)
{
    (void)state;
    oca_budget_set_limit(1000);
    assert_int_equal(oca_budget_charge(1001), OCA_ERR_TOO_LARGE);
    assert_false(oca_err_retryable(OCA_ERR_TOO_LARGE));
    assert_int_equal(oca_err_http_status(OCA_ERR_TOO_LARGE), 413);
    assert_int_equal(oca_budget_used(), 0);
    /* Exactly the limit fits when nothing else is charged. */
    assert_int_equal(oca_budget_charge(1000), OCA_OK);
    oca_budget_release(1000);
}

static void test_force_goes_beyond_and_blocks_charges(void **state)
{
    (void)state;
    oca_budget_set_limit(100);
    oca_budget_force(150);
    assert_int_equal(oca_budget_used(), 150);
    assert_int_equal(oca_budget_peak(), 150);
    assert_int_equal(oca_budget_charge(0), OCA_ERR_MEMORY_LIMIT);
    oca_budget_release(100);
    assert_int_equal(oca_budget_charge(50), OCA_OK);
    oca_budget_release(100);
    assert_int_equal(oca_budget_used(), 0);
}

static void test_admit_refuses_only_when_spent(void **state)
{
    (void)state;
    oca_budget_set_limit(100);
    assert_int_equal(oca_budget_admit(), OCA_OK);
    assert_int_equal(oca_budget_charge(99), OCA_OK);
    assert_int_equal(oca_budget_admit(), OCA_OK);
    oca_budget_force(1);
    assert_int_equal(oca_budget_admit(), OCA_ERR_MEMORY_LIMIT);
    assert_int_equal(oca_budget_refusals(), 1);
    assert_int_equal(oca_budget_used(), 100);
    oca_budget_release(100);
}

static void test_zero_limit_means_unlimited(void **state)
{
    (void)state;
    oca_budget_set_limit(0);
    assert_int_equal(oca_budget_charge((size_t)1 << 40), OCA_OK);
    oca_budget_release((size_t)1 << 40);
}

static void test_batch_unref_gives_the_charge_back(void **state)
{
    (void)state;
    oca_budget_set_limit(1 << 20);
    static const char json[] = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"a\"}]}]}]}";
    struct oca_batch *b;
    assert_int_equal(oca_batch_decode(OCA_SIGNAL_TRACES, OCA_ENCODING_JSON, (const uint8_t *)json, strlen(json),
                                      &b, NULL, 0), OCA_OK);
    assert_int_equal(oca_budget_charge(5000), OCA_OK);
    b->charged = 5000;
    oca_batch_ref(b);
    oca_batch_unref(b);
    assert_int_equal(oca_budget_used(), 5000);          /* one reference left: still held */

    /* A clone is charged for its own arena, and keeps the held batch's client. */
    b->client.addr = "127.0.0.1:1234";
    struct oca_batch *c = oca_batch_clone(b);
    assert_true(c->charged > 0);
    assert_int_equal(oca_budget_used(), 5000 + c->charged);
    assert_string_equal(c->client.addr, "127.0.0.1:1234");
    assert_ptr_not_equal(c->client.addr, b->client.addr);

    /* A batch that holds another keeps it, and its charge, alive. */
    struct oca_batch *holder = oca_batch_new(OCA_SIGNAL_TRACES);
    oca_batch_hold(holder, b);
    oca_batch_unref(b);
    assert_int_equal(oca_budget_used(), 5000 + c->charged);
    oca_batch_unref(holder);
    assert_int_equal(oca_budget_used(), c->charged);
    oca_batch_unref(c);
    assert_int_equal(oca_budget_used(), 0);
}

struct hammer {
    int ok;
};

static void *hammer_thread(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < 100000; i++) {
        if (oca_budget_charge(3) == OCA_OK) {
            h->ok++;
            oca_budget_release(3);
        }
    }
    return NULL;
}

/* Threads charging and releasing at once never drive the count past the limit nor lose bytes. */
static void test_concurrent_charges_stay_within_the_limit(void **state)
{
    (void)state;
    oca_budget_set_limit(10);
    pthread_t t[4];
    struct hammer h[4];
    memset(h, 0, sizeof(h));
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer_thread, &h[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(oca_budget_used(), 0);
    assert_true(oca_budget_peak() <= 10);
    assert_true(h[0].ok + h[1].ok + h[2].ok + h[3].ok > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_default_limit, reset),
        cmocka_unit_test_setup(test_charge_up_to_the_limit, reset),
        cmocka_unit_test_setup(test_larger_than_the_whole_limit_is_permanent, reset),
        cmocka_unit_test_setup(test_force_goes_beyond_and_blocks_charges, reset),
        cmocka_unit_test_setup(test_admit_refuses_only_when_spent, reset),
        cmocka_unit_test_setup(test_zero_limit_means_unlimited, reset),
        cmocka_unit_test_setup(test_batch_unref_gives_the_charge_back, reset),
        cmocka_unit_test_setup(test_concurrent_charges_stay_within_the_limit, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
