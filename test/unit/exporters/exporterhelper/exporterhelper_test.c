/* Tests of exporters/exporterhelper/exporterhelper.c on a real loop with a fake exporter whose
 * attempts end as a script says, at once (inside send) or when the test releases them: what is
 * counted as sent, failed or refused; the observed retry delays against the backoff rules and a
 * backend's asked delay; the queue bound, the concurrency bound and the disabled queue; shutdown
 * draining everything (a batch mid-retry included) before done; batch references balanced; the
 * field tables' defaults and bounds as an exporter embeds them. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/arena.h"
#include "base/errors.h"
#include "base/log.h"
#include "config/diag.h"
#include "exporters/exporterhelper/exporterhelper.h"
#include "pipeline/batch.h"
#include "pipeline/counters.h"

#define MAX_SENDS 64

/* How the attempts of the fake exporter end: step k of the script for attempt k, OCA_OK beyond. */
struct step {
    int err;
    int64_t retry_after_ns;
    const char *message;
};

struct fake {
    uv_loop_t *loop;
    const struct step *script;
    size_t n_script;
    bool hold;                          /* attempts stay open until release_one() */
    struct oca_send_attempt *open[MAX_SENDS];
    struct oca_batch *open_batch[MAX_SENDS];
    size_t n_open, max_open;
    uint64_t send_ms[MAX_SENDS];        /* uv_now at each attempt */
    struct oca_batch *sent_batch[MAX_SENDS];
    size_t n_sends;
    int64_t timeout_ns;                 /* as the last send saw it */
};

struct test {
    uv_loop_t loop;
    struct oca_counters counters;
    struct oca_component comp;
    struct oca_exporter_helper_config cfg;
    struct fake fake;
    struct oca_exporter_helper *h;
    int done_calls;
};

static void finish(struct fake *f, struct oca_send_attempt *a, size_t k)
{
    struct step ok = { OCA_OK, 0, NULL };
    const struct step *st = k < f->n_script ? &f->script[k] : &ok;
    struct oca_send_result res = { st->err, st->retry_after_ns, st->message };
    oca_send_attempt_done(a, &res);
}

static void fake_send(void *exporter, enum oca_signal sig, struct oca_batch *batch, int64_t timeout_ns,
                      struct oca_send_attempt *attempt)
{
    struct fake *f = exporter;
    assert_int_equal(sig, batch->signal);
    assert_true(f->n_sends < MAX_SENDS);
    f->timeout_ns = timeout_ns;
    f->send_ms[f->n_sends] = uv_now(f->loop);
    f->sent_batch[f->n_sends] = batch;
    size_t k = f->n_sends++;
    if (f->hold) {
        f->open[f->n_open] = attempt;
        f->open_batch[f->n_open] = batch;
        if (++f->n_open > f->max_open)
            f->max_open = f->n_open;
        (void)k;
        return;
    }
    finish(f, attempt, k);
}

static const struct oca_exporter_ops fake_ops = { .send = fake_send };

/* Ends the oldest open attempt with OCA_OK. */
static void release_one(struct fake *f)
{
    assert_true(f->n_open > 0);
    struct oca_send_attempt *a = f->open[0];
    memmove(f->open, f->open + 1, (f->n_open - 1) * sizeof(f->open[0]));
    memmove(f->open_batch, f->open_batch + 1, (f->n_open - 1) * sizeof(f->open_batch[0]));
    f->n_open--;
    struct oca_send_result res = { OCA_OK, 0, NULL };
    oca_send_attempt_done(a, &res);
}

static void setup(struct test *t)
{
    memset(t, 0, sizeof(*t));
    assert_int_equal(uv_loop_init(&t->loop), 0);
    t->counters.id = "otlp/test";
    t->counters.kind = OCA_EXPORTER;
    t->counters.queue_size = t->counters.queue_capacity = -1;
    t->comp.id = "otlp/test";
    t->comp.counters = &t->counters;
    t->cfg = (struct oca_exporter_helper_config){
        .timeout_ns = 2 * OCA_NS_PER_S,
        .sending_queue = { .enabled = true, .num_consumers = 2, .queue_size = 10 },
        .retry_on_failure = { .enabled = true, .initial_interval_ns = 5 * OCA_NS_PER_MS, .randomization_factor = 0,
                              .multiplier = 1.5, .max_interval_ns = 30 * OCA_NS_PER_MS, .max_elapsed_time_ns = 0 },
    };
    t->fake.loop = &t->loop;
}

static void start(struct test *t)
{
    t->h = oca_exporter_helper_new(&t->comp, &t->cfg, &fake_ops, &t->fake);
    assert_int_equal(oca_exporter_helper_start(t->h, &t->loop), OCA_OK);
}

static void on_done(void *arg)
{
    struct test *t = arg;
    t->done_calls++;
}

static bool done_called(void *arg) { return ((struct test *)arg)->done_calls > 0; }

/* Shuts down, waits for done, frees the helper and checks that the loop closes. */
static void teardown(struct test *t)
{
    if (t->h) {
        oca_exporter_helper_shutdown(t->h, on_done, t);
        assert_true(oca_test_run_until(&t->loop, done_called, t, 5000));
        oca_exporter_helper_free(t->h);
    }
    uv_run(&t->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&t->loop), 0);
}

static ProtobufCMessage *make_span(struct oca_arena *a, size_t k, const void *arg)
{
    (void)k;
    (void)arg;
    return oca_test_new_message(a, &opentelemetry__proto__trace__v1__span__descriptor);
}

static struct oca_batch *spans(size_t n) { return oca_test_make_batch(OCA_SIGNAL_TRACES, "svc", n, make_span, NULL); }

/* Hands b over as a pipeline would (consume borrows; the caller keeps its reference). */
static int consume(struct test *t, struct oca_batch *b) { return oca_exporter_helper_consume(t->h, b->signal, b); }

static uint64_t count(const struct test *t, enum oca_edge e) { return t->counters.items[e][OCA_SIGNAL_TRACES]; }

static bool sent_at_least_8(void *arg) { return count(arg, OCA_EDGE_SENT) >= 8; }

static bool finished_items(void *arg)
{
    const struct test *t = arg;
    return t->counters.queued_batches[OCA_SIGNAL_TRACES] == 0;
}

/* Starts t with the script, hands it one batch of n spans and runs the loop until the helper is
 * done with it; checks that the helper let go of the batch and returns what was logged meanwhile
 * (malloc'd). */
static char *send_one(struct test *t, const struct step *script, size_t n_script, size_t n)
{
    t->fake.script = script;
    t->fake.n_script = n_script;
    start(t);
    struct oca_batch *b = spans(n);
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(consume(t, b), OCA_OK);
    bool finished = oca_test_run_until(&t->loop, finished_items, t, 10000);
    char *log = oca_test_capture_end(&cap);
    assert_true(finished);
    for (size_t i = 0; i < t->fake.n_sends; i++)
        assert_ptr_equal(t->fake.sent_batch[i], b);
    assert_int_equal(b->refs, 1);
    oca_batch_unref(b);
    return log;
}

static void test_success_counts_sent(void **state)
{
    (void)state;
    struct test t;
    setup(&t);
    start(&t);
    assert_int_equal(t.counters.queue_capacity, 10);
    assert_int_equal(t.counters.queue_size, 0);
    struct oca_batch *a = spans(5), *b = spans(3);
    assert_int_equal(consume(&t, a), OCA_OK);
    assert_int_equal(consume(&t, b), OCA_OK);
    assert_int_equal(a->refs, 2);
    assert_int_equal(t.counters.queued_batches[OCA_SIGNAL_TRACES], 2);
    assert_int_equal(t.counters.queued_items[OCA_SIGNAL_TRACES], 8);
    assert_true(oca_test_run_until(&t.loop, sent_at_least_8, &t, 5000));
    assert_int_equal(count(&t, OCA_EDGE_SENT), 8);
    assert_int_equal(count(&t, OCA_EDGE_SEND_FAILED), 0);
    assert_int_equal(count(&t, OCA_EDGE_ENQUEUE_FAILED), 0);
    assert_int_equal(t.fake.n_sends, 2);
    assert_ptr_equal(t.fake.sent_batch[0], a);
    assert_ptr_equal(t.fake.sent_batch[1], b);
    assert_int_equal(t.fake.timeout_ns, 2 * OCA_NS_PER_S);
    assert_int_equal(t.counters.queued_batches[OCA_SIGNAL_TRACES], 0);
    assert_int_equal(t.counters.queued_items[OCA_SIGNAL_TRACES], 0);
    assert_int_equal(a->refs, 1);
    assert_int_equal(b->refs, 1);
    oca_batch_unref(a);
    oca_batch_unref(b);
    teardown(&t);
    assert_int_equal(t.done_calls, 1);
}

static void test_retry_then_success(void **state)
{
    (void)state;
    static const struct step script[] = {
        { OCA_ERR_UNAVAILABLE, 0, "down" }, { OCA_ERR_TIMEOUT, 0, NULL }, { OCA_ERR_THROTTLED, 0, "slow down" },
    };
    struct test t;
    setup(&t);
    free(send_one(&t, script, 3, 4));
    assert_int_equal(t.fake.n_sends, 4);
    assert_int_equal(count(&t, OCA_EDGE_SENT), 4);
    assert_int_equal(count(&t, OCA_EDGE_SEND_FAILED), 0);
    teardown(&t);
}

/* The delays between the attempts of one batch that fails as the script says (n - 1 steps, the
 * last attempt succeeding). */
static void observed_delays(struct test *t, const struct step *script, size_t n, uint64_t *delays)
{
    free(send_one(t, script, n - 1, 1));
    assert_int_equal(t->fake.n_sends, n);
    assert_int_equal(count(t, OCA_EDGE_SENT), 1);
    for (size_t i = 1; i < n; i++)
        delays[i - 1] = t->fake.send_ms[i] - t->fake.send_ms[i - 1];
}

/* How late a timer may fire on a loaded 2-core machine before the test calls it wrong. */
#define SLACK_MS 40

static void test_backoff_grows_and_caps(void **state)
{
    (void)state;
    static const struct step fail = { OCA_ERR_UNAVAILABLE, 0, NULL };
    static const struct step script[] = { fail, fail, fail, fail, fail };
    struct test t;
    setup(&t);
    t.cfg.retry_on_failure.initial_interval_ns = 10 * OCA_NS_PER_MS;
    t.cfg.retry_on_failure.multiplier = 2;
    t.cfg.retry_on_failure.max_interval_ns = 40 * OCA_NS_PER_MS;
    uint64_t d[5];
    observed_delays(&t, script, 6, d);
    /* Without randomization the waits are the intervals themselves: 10, 20, 40, then the cap. */
    static const uint64_t want[] = { 10, 20, 40, 40, 40 };
    for (size_t i = 0; i < 5; i++) {
        assert_true(d[i] >= want[i]);
        assert_true(d[i] <= want[i] + SLACK_MS);
    }
    teardown(&t);
}

static void test_backoff_randomized_within_bounds(void **state)
{
    (void)state;
    static const struct step fail = { OCA_ERR_UNAVAILABLE, 0, NULL };
    static const struct step script[] = { fail, fail, fail, fail, fail, fail };
    struct test t;
    setup(&t);
    t.cfg.retry_on_failure.initial_interval_ns = 20 * OCA_NS_PER_MS;
    t.cfg.retry_on_failure.randomization_factor = 0.5;
    t.cfg.retry_on_failure.multiplier = 2;
    t.cfg.retry_on_failure.max_interval_ns = 80 * OCA_NS_PER_MS;
    uint64_t d[6];
    observed_delays(&t, script, 7, d);
    static const uint64_t interval[] = { 20, 40, 80, 80, 80, 80 };
    for (size_t i = 0; i < 6; i++) {
        assert_true(d[i] >= interval[i] / 2);                   /* interval * (1 - 0.5) */
        assert_true(d[i] <= interval[i] * 3 / 2 + 1 + SLACK_MS); /* interval * (1 + 0.5), +1 ns */
    }
    teardown(&t);
}

static void test_retry_after_honoured(void **state)
{
    (void)state;
    static const struct step script[] = {
        { OCA_ERR_THROTTLED, 60 * OCA_NS_PER_MS, "quota" },
        { OCA_ERR_UNAVAILABLE, 1 * OCA_NS_PER_MS, NULL },   /* shorter than the backoff: ignored */
    };
    struct test t;
    setup(&t);
    t.cfg.retry_on_failure.initial_interval_ns = 20 * OCA_NS_PER_MS;
    t.cfg.retry_on_failure.multiplier = 1;
    uint64_t d[2];
    observed_delays(&t, script, 3, d);
    assert_true(d[0] >= 60);
    assert_true(d[0] <= 60 + SLACK_MS);
    assert_true(d[1] >= 20);
    teardown(&t);
}

static void test_max_elapsed_gives_up(void **state)
{
    (void)state;
    static const struct step fail = { OCA_ERR_UNAVAILABLE, 0, "no route" };
    static const struct step script[] = { fail, fail, fail, fail, fail, fail, fail, fail };
    struct test t;
    setup(&t);
    t.cfg.retry_on_failure.initial_interval_ns = 10 * OCA_NS_PER_MS;
    t.cfg.retry_on_failure.multiplier = 1;
    t.cfg.retry_on_failure.max_elapsed_time_ns = 35 * OCA_NS_PER_MS;
    char *log = send_one(&t, script, 8, 3);
    /* Attempts at 0, 10, 20 and 30 ms; the next would start after 35 ms. A late timer can only
     * leave fewer. */
    assert_true(t.fake.n_sends >= 2 && t.fake.n_sends <= 4);
    assert_int_equal(count(&t, OCA_EDGE_SEND_FAILED), 3);
    assert_int_equal(count(&t, OCA_EDGE_SENT), 0);
    assert_non_null(strstr(log, "no retries left"));
    assert_non_null(strstr(log, "no route"));
    free(log);
    teardown(&t);
}

static void test_retry_after_beyond_max_elapsed_gives_up(void **state)
{
    (void)state;
    static const struct step script[] = { { OCA_ERR_THROTTLED, 10 * OCA_NS_PER_S, NULL } };
    struct test t;
    setup(&t);
    t.cfg.retry_on_failure.max_elapsed_time_ns = 1 * OCA_NS_PER_S;
    free(send_one(&t, script, 1, 2));
    assert_int_equal(t.fake.n_sends, 1);
    assert_int_equal(count(&t, OCA_EDGE_SEND_FAILED), 2);
    teardown(&t);
}

static void test_permanent_not_retried(void **state)
{
    (void)state;
    static const struct step script[] = { { OCA_ERR_REJECTED, 0, "span 7: bad\ntrace id" } };
    struct test t;
    setup(&t);
    t.fake.script = script;
    t.fake.n_script = 1;
    start(&t);
    struct oca_batch *b = spans(6), *c = spans(1);
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    assert_int_equal(consume(&t, b), OCA_OK);
    assert_int_equal(consume(&t, c), OCA_OK);
    assert_true(oca_test_run_until(&t.loop, finished_items, &t, 5000));
    char *log = oca_test_capture_end(&cap);
    assert_int_equal(t.fake.n_sends, 2);
    assert_int_equal(count(&t, OCA_EDGE_SEND_FAILED), 6);
    assert_int_equal(count(&t, OCA_EDGE_SENT), 1);
    /* The backend's words, on one line, and why the batch was not retried. */
    assert_non_null(strstr(log, "dropping 6 spans: rejected by the backend: span 7: bad trace id (not retryable)"));
    assert_non_null(strstr(log, "otlp/test"));
    free(log);
    oca_batch_unref(b);
    oca_batch_unref(c);
    teardown(&t);
}

static void test_permanent_flood_rate_limited(void **state)
{
    (void)state;
    static const struct step rej = { OCA_ERR_REJECTED, 0, "bad" };
    static const struct step script[] = { rej, rej, rej, rej, rej };
    struct test t;
    setup(&t);
    t.fake.script = script;
    t.fake.n_script = 5;
    start(&t);
    struct oca_test_capture cap;
    oca_test_capture_start(&cap);
    for (int i = 0; i < 5; i++) {
        struct oca_batch *b = spans(1);
        assert_int_equal(consume(&t, b), OCA_OK);
        oca_batch_unref(b);
    }
    assert_true(oca_test_run_until(&t.loop, finished_items, &t, 5000));
    char *log = oca_test_capture_end(&cap);
    assert_int_equal(count(&t, OCA_EDGE_SEND_FAILED), 5);
    /* Within one second only the first failure is logged; every one is counted. */
    const char *first = strstr(log, "dropping 1 spans");
    assert_non_null(first);
    assert_null(strstr(first + 1, "dropping 1 spans"));
    free(log);
    teardown(&t);
}

static void test_retry_disabled_fails_at_once(void **state)
{
    (void)state;
    static const struct step script[] = { { OCA_ERR_UNAVAILABLE, 0, NULL } };
    struct test t;
    setup(&t);
    t.cfg.retry_on_failure.enabled = false;
    char *log = send_one(&t, script, 1, 2);
    assert_int_equal(t.fake.n_sends, 1);
    assert_int_equal(count(&t, OCA_EDGE_SEND_FAILED), 2);
    assert_non_null(strstr(log, "retry_on_failure is disabled"));
    free(log);
    teardown(&t);
}

static bool one_open(void *arg) { return ((struct test *)arg)->fake.n_open >= 1; }

static void test_queue_full(void **state)
{
    (void)state;
    struct test t;
    setup(&t);
    t.cfg.sending_queue.num_consumers = 1;
    t.cfg.sending_queue.queue_size = 2;
    t.fake.hold = true;
    start(&t);
    struct oca_batch *b[4];
    for (int i = 0; i < 4; i++)
        b[i] = spans((size_t)i + 1);
    /* One goes to the sender, two wait, the fourth finds no room. */
    assert_int_equal(consume(&t, b[0]), OCA_OK);
    assert_int_equal(consume(&t, b[1]), OCA_OK);
    assert_int_equal(consume(&t, b[2]), OCA_OK);
    assert_int_equal(t.counters.queue_size, 2);
    oca_log_set_level(OCA_LOG_ERROR);
    assert_int_equal(consume(&t, b[3]), OCA_ERR_QUEUE_FULL);
    oca_log_set_level(OCA_LOG_WARN);
    assert_int_equal(count(&t, OCA_EDGE_ENQUEUE_FAILED), 4);
    assert_int_equal(b[3]->refs, 1);
    assert_int_equal(t.counters.queued_batches[OCA_SIGNAL_TRACES], 3);
    assert_int_equal(t.counters.queued_items[OCA_SIGNAL_TRACES], 6);
    assert_true(oca_test_run_until(&t.loop, one_open, &t, 5000));
    release_one(&t.fake);
    assert_int_equal(t.counters.queue_size, 1);
    /* Room again. */
    assert_int_equal(consume(&t, b[3]), OCA_OK);
    for (int i = 0; i < 3; i++) {
        assert_true(oca_test_run_until(&t.loop, one_open, &t, 5000));
        release_one(&t.fake);
    }
    assert_int_equal(count(&t, OCA_EDGE_SENT), 1 + 2 + 3 + 4);
    assert_int_equal(t.counters.queue_size, 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(b[i]->refs, 1);
        oca_batch_unref(b[i]);
    }
    teardown(&t);
}

static bool three_open(void *arg) { return ((struct test *)arg)->fake.n_open >= 3; }

static void test_num_consumers_bounds_concurrency(void **state)
{
    (void)state;
    struct test t;
    setup(&t);
    t.cfg.sending_queue.num_consumers = 3;
    t.fake.hold = true;
    start(&t);
    for (int i = 0; i < 8; i++) {
        struct oca_batch *b = spans(1);
        assert_int_equal(consume(&t, b), OCA_OK);
        oca_batch_unref(b);
    }
    assert_true(oca_test_run_until(&t.loop, three_open, &t, 5000));
    for (int i = 0; i < 5; i++)
        uv_run(&t.loop, UV_RUN_NOWAIT);
    assert_int_equal(t.fake.n_open, 3);
    assert_int_equal(t.counters.queue_size, 5);
    for (int sent = 0; sent < 8; sent++) {
        assert_true(oca_test_run_until(&t.loop, one_open, &t, 5000));
        release_one(&t.fake);
        uv_run(&t.loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(t.fake.max_open, 3);
    assert_int_equal(t.fake.n_sends, 8);
    assert_int_equal(count(&t, OCA_EDGE_SENT), 8);
    teardown(&t);
}

static void test_queue_disabled(void **state)
{
    (void)state;
    struct test t;
    setup(&t);
    t.cfg.sending_queue.enabled = false;
    t.cfg.sending_queue.num_consumers = 2;
    t.fake.hold = true;
    start(&t);
    assert_int_equal(t.counters.queue_capacity, -1);
    assert_int_equal(t.counters.queue_size, -1);
    struct oca_batch *b = spans(3);
    /* No waiting room: taken only while one of the two senders is free. */
    assert_int_equal(consume(&t, b), OCA_OK);
    assert_int_equal(consume(&t, b), OCA_OK);
    oca_log_set_level(OCA_LOG_ERROR);
    assert_int_equal(consume(&t, b), OCA_ERR_QUEUE_FULL);
    oca_log_set_level(OCA_LOG_WARN);
    assert_int_equal(count(&t, OCA_EDGE_ENQUEUE_FAILED), 3);
    assert_true(oca_test_run_until(&t.loop, one_open, &t, 5000));
    for (int i = 0; i < 5; i++)
        uv_run(&t.loop, UV_RUN_NOWAIT);
    assert_int_equal(t.fake.n_open, 2);
    release_one(&t.fake);
    assert_int_equal(consume(&t, b), OCA_OK);
    for (int i = 0; i < 2; i++) {
        assert_true(oca_test_run_until(&t.loop, one_open, &t, 5000));
        release_one(&t.fake);
    }
    assert_int_equal(count(&t, OCA_EDGE_SENT), 9);
    assert_int_equal(b->refs, 1);
    oca_batch_unref(b);
    teardown(&t);
}

static bool first_failed(void *arg) { return ((struct test *)arg)->fake.n_sends >= 1; }

static void on_done_second(void *arg)
{
    struct test *t = arg;
    t->done_calls += 10;
}

static void test_shutdown_drains(void **state)
{
    (void)state;
    static const struct step script[] = { { OCA_ERR_UNAVAILABLE, 0, NULL }, { OCA_ERR_UNAVAILABLE, 0, NULL } };
    struct test t;
    setup(&t);
    t.cfg.sending_queue.num_consumers = 1;
    t.cfg.retry_on_failure.initial_interval_ns = 20 * OCA_NS_PER_MS;
    t.fake.script = script;
    t.fake.n_script = 2;
    start(&t);
    struct oca_batch *b[3] = { spans(1), spans(2), spans(3) };
    for (int i = 0; i < 3; i++)
        assert_int_equal(consume(&t, b[i]), OCA_OK);
    oca_log_set_level(OCA_LOG_ERROR);
    /* The first batch is waiting out its backoff when shutdown begins. */
    assert_true(oca_test_run_until(&t.loop, first_failed, &t, 5000));
    assert_int_equal(count(&t, OCA_EDGE_SENT), 0);
    oca_exporter_helper_shutdown(t.h, on_done, &t);
    oca_exporter_helper_shutdown(t.h, on_done_second, &t);
    assert_int_equal(t.done_calls, 0);
    struct oca_batch *late = spans(1);
    assert_int_equal(consume(&t, late), OCA_ERR_SHUTTING_DOWN);
    assert_int_equal(late->refs, 1);
    oca_batch_unref(late);
    assert_true(oca_test_run_until(&t.loop, done_called, &t, 5000));
    oca_log_set_level(OCA_LOG_WARN);
    /* Everything went out before done, and each shutdown call got its own done once. */
    assert_int_equal(count(&t, OCA_EDGE_SENT), 6);
    assert_int_equal(count(&t, OCA_EDGE_SEND_FAILED), 0);
    assert_int_equal(count(&t, OCA_EDGE_ENQUEUE_FAILED), 0);
    assert_int_equal(t.fake.n_sends, 5);
    assert_int_equal(t.done_calls, 11);
    oca_exporter_helper_shutdown(t.h, on_done, &t);
    assert_int_equal(t.done_calls, 12);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(b[i]->refs, 1);
        oca_batch_unref(b[i]);
    }
    oca_exporter_helper_free(t.h);
    t.h = NULL;
    teardown(&t);
}

static void test_shutdown_without_start(void **state)
{
    (void)state;
    struct test t;
    setup(&t);
    t.h = oca_exporter_helper_new(&t.comp, &t.cfg, &fake_ops, &t.fake);
    struct oca_batch *b = spans(2);
    /* Taken before start (queued), then dropped and counted: nothing could ever send it. */
    assert_int_equal(consume(&t, b), OCA_OK);
    oca_log_set_level(OCA_LOG_ERROR);
    oca_exporter_helper_shutdown(t.h, on_done, &t);
    oca_log_set_level(OCA_LOG_WARN);
    assert_int_equal(t.done_calls, 1);
    assert_int_equal(count(&t, OCA_EDGE_DROPPED), 2);
    assert_int_equal(b->refs, 1);
    assert_int_equal(consume(&t, b), OCA_ERR_SHUTTING_DOWN);
    oca_exporter_helper_free(t.h);
    t.h = NULL;
    /* Freed without shutdown, never started. */
    t.h = oca_exporter_helper_new(&t.comp, &t.cfg, &fake_ops, &t.fake);
    oca_exporter_helper_free(t.h);
    t.h = NULL;
    oca_batch_unref(b);
    teardown(&t);
}

/* An exporter config that embeds the helper's, as every pushing exporter's will. */
struct pusher_config {
    struct oca_exporter_helper_config helper;
};

static const struct oca_field pusher_fields[] = {
    OCA_EXPORTER_HELPER_FIELDS(struct pusher_config, helper),
    OCA_FIELD_END,
};

static int pusher_validate(const void *cfg, struct oca_diag *diag)
{
    return oca_exporter_helper_validate(&((const struct pusher_config *)cfg)->helper, diag);
}

static const struct oca_component_type pusher = {
    .name = "pusher", .kind = OCA_EXPORTER, .signals = OCA_TRACES, .config_size = sizeof(struct pusher_config),
    .fields = pusher_fields, .validate = pusher_validate,
};

static void test_config_defaults(void **state)
{
    struct oca_test_fixture *fx = *state;
    const struct pusher_config *c = oca_test_valid_config(fx->arena, &pusher, NULL, "exporters.pusher");
    assert_int_equal(c->helper.timeout_ns, 5 * OCA_NS_PER_S);
    assert_true(c->helper.sending_queue.enabled);
    assert_int_equal(c->helper.sending_queue.num_consumers, 10);
    assert_int_equal(c->helper.sending_queue.queue_size, 1000);
    const struct oca_retry_config *r = &c->helper.retry_on_failure;
    assert_true(r->enabled);
    assert_int_equal(r->initial_interval_ns, 5 * OCA_NS_PER_S);
    assert_true(r->randomization_factor == 0.5);
    assert_true(r->multiplier == 1.5);
    assert_int_equal(r->max_interval_ns, 30 * OCA_NS_PER_S);
    assert_int_equal(r->max_elapsed_time_ns, 300 * OCA_NS_PER_S);
    c = oca_test_valid_config(fx->arena, &pusher,
                              "timeout: 2s\nsending_queue: {enabled: false, num_consumers: 3, queue_size: 7}\n"
                              "retry_on_failure: {initial_interval: 100ms, max_interval: 1s, max_elapsed_time: 0,\n"
                              "  multiplier: 2, randomization_factor: 0}\n", "exporters.pusher");
    assert_int_equal(c->helper.timeout_ns, 2 * OCA_NS_PER_S);
    assert_false(c->helper.sending_queue.enabled);
    assert_int_equal(c->helper.sending_queue.queue_size, 7);
    assert_int_equal(c->helper.retry_on_failure.max_elapsed_time_ns, 0);
    assert_true(c->helper.retry_on_failure.multiplier == 2);
}

static void test_config_refused(void **state)
{
    struct oca_test_fixture *fx = *state;
    static const char *const bad[] = {
        "sending_queue: {num_consumers: 0}\n",
        "sending_queue: {queue_size: 0}\n",
        "retry_on_failure: {randomization_factor: 1.5}\n",
        "retry_on_failure: {multiplier: 0.5}\n",
        "retry_on_failure: {initial_interval: 0}\n",
        "retry_on_failure: {max_elapsed: 1s}\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        void *cfg;
        oca_diag_free(&fx->diag);
        oca_diag_init(&fx->diag);
        if (oca_test_decode_config(fx->arena, &pusher, bad[i], "exporters.pusher", &fx->diag, &cfg) == 0)
            fail_msg("accepted: %s", bad[i]);
        assert_true(strstr(fx->diag.text.data, "out of range") || strstr(fx->diag.text.data, "unknown key"));
    }
    /* The Collector's cross-field rule. */
    void *cfg;
    oca_diag_free(&fx->diag);
    oca_diag_init(&fx->diag);
    assert_int_equal(oca_test_decode_config(fx->arena, &pusher, "retry_on_failure: {max_elapsed_time: 10s}\n",
                                            "exporters.pusher", &fx->diag, &cfg), 0);
    assert_int_equal(pusher_validate(cfg, &fx->diag), OCA_ERR_CONFIG);
    assert_non_null(strstr(fx->diag.text.data, "max_elapsed_time must not be less than max_interval"));
}

int main(void)
{
    oca_log_set_level(OCA_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_counts_sent),
        cmocka_unit_test(test_retry_then_success),
        cmocka_unit_test(test_backoff_grows_and_caps),
        cmocka_unit_test(test_backoff_randomized_within_bounds),
        cmocka_unit_test(test_retry_after_honoured),
        cmocka_unit_test(test_max_elapsed_gives_up),
        cmocka_unit_test(test_retry_after_beyond_max_elapsed_gives_up),
        cmocka_unit_test(test_permanent_not_retried),
        cmocka_unit_test(test_permanent_flood_rate_limited),
        cmocka_unit_test(test_retry_disabled_fails_at_once),
        cmocka_unit_test(test_queue_full),
        cmocka_unit_test(test_num_consumers_bounds_concurrency),
        cmocka_unit_test(test_queue_disabled),
        cmocka_unit_test(test_shutdown_drains),
        cmocka_unit_test(test_shutdown_without_start),
        OCA_TEST_WITH_FIXTURE(test_config_defaults),
        OCA_TEST_WITH_FIXTURE(test_config_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
