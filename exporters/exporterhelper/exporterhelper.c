/* The exporter helper: a FIFO of batch references served by num_consumers senders, each owning one
 * batch from its first attempt until it is delivered or given up and waiting out its backoff in its
 * own timer, as the Collector's consumer goroutine sleeps in its retry sender. The exporter makes
 * single attempts (ops->send); what to retry, when, and what to count is decided here. Backoff
 * arithmetic is in backoff.c, status rules and Retry-After in retry_policy.c. */
#include "exporters/exporterhelper/exporterhelper.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/diag.h"
#include "exporters/exporterhelper/backoff.h"
#include "pipeline/batch.h"
#include "pipeline/counters.h"

const struct oca_field oca_queue_fields[] = {
    OCA_FIELD_BOOL(struct oca_queue_config, enabled, "true",
                   "Keep batches waiting while the senders are busy; when off a batch is refused "
                   "(retryable, so receivers answer 503/UNAVAILABLE) unless a sender is free."),
    OCA_FIELD_U32(struct oca_queue_config, num_consumers, "10", 1, 1000,
                  "Batches sent at once; a batch waiting out its retry backoff keeps its sender."),
    OCA_FIELD_U32(struct oca_queue_config, queue_size, "1000", 1, 1000000,
                  "Batches that may wait for a sender; beyond that new batches are refused "
                  "(retryable) and counted in otelcol_exporter_enqueue_failed_*."),
    OCA_FIELD_END,
};

/* A duration member whose C name ends in _ns, under its YAML key. */
#define RETRY_DURATION(key, m, def_, min_, max_, doc_) \
    { .name = key, .kind = OCA_FIELD_KIND_DURATION, .offset = OCA_FIELD_AT(struct oca_retry_config, m, int64_t), \
      .def = def_, .min = min_, .max = max_, .doc = doc_ }

const struct oca_field oca_retry_fields[] = {
    OCA_FIELD_BOOL(struct oca_retry_config, enabled, "true",
                   "Retry a batch after a retryable failure; when off it is counted as failed at once."),
    RETRY_DURATION("initial_interval", initial_interval_ns, "5s", OCA_NS_PER_MS, 3600 * OCA_NS_PER_S,
                       "Wait after the first failure, before randomization."),
    OCA_FIELD_DOUBLE(struct oca_retry_config, randomization_factor, "0.5", 0.0, 1.0,
                     "Each wait is drawn from interval * [1 - factor, 1 + factor]; 0 waits exactly the interval."),
    OCA_FIELD_DOUBLE(struct oca_retry_config, multiplier, "1.5", 1.0, 100.0,
                     "Growth of the interval after each failure."),
    RETRY_DURATION("max_interval", max_interval_ns, "30s", OCA_NS_PER_MS, 24 * 3600 * OCA_NS_PER_S,
                       "Largest interval the growth reaches (before randomization)."),
    RETRY_DURATION("max_elapsed_time", max_elapsed_time_ns, "300s", 0, 7 * 24 * 3600 * OCA_NS_PER_S,
                       "Give a batch up (counted in otelcol_exporter_send_failed_*) when the next "
                       "attempt would start later than this after its first; 0 retries forever. "
                       "A delay the backend asks for (Retry-After, RetryInfo) is waited in full, or "
                       "the batch is given up if that would pass this limit."),
    OCA_FIELD_END,
};

int oca_exporter_helper_validate(const struct oca_exporter_helper_config *cfg, struct oca_diag *diag)
{
    const struct oca_retry_config *r = &cfg->retry_on_failure;
    int err = OCA_OK;
    if (!r->enabled || r->max_elapsed_time_ns == 0)
        return OCA_OK;
    if (r->max_elapsed_time_ns < r->initial_interval_ns) {
        oca_diag_field_error(diag, "retry_on_failure.max_elapsed_time",
                             "max_elapsed_time must not be less than initial_interval (or 0 to retry forever)");
        err = OCA_ERR_CONFIG;
    }
    if (r->max_elapsed_time_ns < r->max_interval_ns) {
        oca_diag_field_error(diag, "retry_on_failure.max_elapsed_time",
                             "max_elapsed_time must not be less than max_interval (or 0 to retry forever)");
        err = OCA_ERR_CONFIG;
    }
    return err;
}

/* A batch waiting for a sender. */
struct queued {
    struct queued *next;
    enum oca_signal sig;
    struct oca_batch *batch;
};

/* At most one line a second per kind of event; the next line says how many were left out. */
struct log_limit {
    uint64_t next_ms;
    uint64_t suppressed;
};

/* One sender (a consumer slot). It is idle when batch is NULL; otherwise its timer is due to make
 * the next attempt, or an attempt is out with the exporter (sending). */
struct oca_send_attempt {
    struct oca_exporter_helper *h;
    struct oca_send_attempt *next_free;
    uv_timer_t timer;
    enum oca_signal sig;
    struct oca_batch *batch;
    struct oca_backoff backoff;
    unsigned tries;
    bool sending;
};

struct shutdown_waiter {
    void (*done)(void *arg);
    void *arg;
};

struct oca_exporter_helper {
    struct oca_component *self;
    const struct oca_exporter_helper_config *cfg;
    const struct oca_exporter_ops *ops;
    void *exporter;
    uv_loop_t *loop;
    struct oca_send_attempt *slots;
    uint32_t n_slots, busy;
    struct oca_send_attempt *free_slots;
    struct queued *head, *tail;
    uint32_t queued;
    bool started, stopping, closing, finished;
    uint32_t open_timers;
    struct shutdown_waiter *waiters;
    size_t n_waiters;
    uint64_t rng;
    struct log_limit retry_log, fail_log, full_log;
};

static const char *item_word(enum oca_signal sig)
{
    static const char *const words[OCA_SIGNAL_COUNT] = { "spans", "points", "records" };
    return (unsigned)sig < OCA_SIGNAL_COUNT ? words[sig] : "items";
}

/* Whether a line may be logged now; if so, note gets " (N similar lines not logged)" or "". */
static bool log_allowed(struct log_limit *l, uint64_t now_ms, char *note, size_t size)
{
    if (l->next_ms && now_ms < l->next_ms) {
        l->suppressed++;
        return false;
    }
    note[0] = '\0';
    if (l->suppressed)
        snprintf(note, size, " (%llu similar lines not logged)", (unsigned long long)l->suppressed);
    l->suppressed = 0;
    l->next_ms = now_ms + 1000;
    return true;
}

/* The backend's message made fit for one log line: control characters become spaces. */
static void clean_message(char *out, size_t size, const char *msg)
{
    size_t n = 0;
    for (; msg && msg[n] && n + 1 < size; n++)
        out[n] = (unsigned char)msg[n] < 0x20 || msg[n] == 0x7f ? ' ' : msg[n];
    out[n] = '\0';
}

/* xorshift64*: uniform in [0, 1), plenty for jitter. */
static double next_random(struct oca_exporter_helper *h)
{
    h->rng ^= h->rng >> 12;
    h->rng ^= h->rng << 25;
    h->rng ^= h->rng >> 27;
    return (double)((h->rng * UINT64_C(2685821657736338717)) >> 11) * 0x1.0p-53;
}

static uint64_t now_ms(const struct oca_exporter_helper *h) { return h->loop ? uv_now(h->loop) : 0; }

static void update_queue_gauge(struct oca_exporter_helper *h)
{
    struct oca_counters *c = h->self->counters;
    if (c)
        c->queue_size = h->cfg->sending_queue.enabled ? (int64_t)h->queued : -1;
}

/* The helper's hold on a batch shows in the counters from acceptance to the end. */
static void count_held(struct oca_exporter_helper *h, enum oca_signal sig, const struct oca_batch *b, bool add)
{
    struct oca_counters *c = h->self->counters;
    if (!c)
        return;
    c->queued_batches[sig] += add ? 1 : (uint64_t)-1;
    c->queued_items[sig] += add ? (uint64_t)b->items : (uint64_t)0 - b->items;
}

struct oca_exporter_helper *oca_exporter_helper_new(struct oca_component *self,
                                                    const struct oca_exporter_helper_config *cfg,
                                                    const struct oca_exporter_ops *ops, void *exporter)
{
    struct oca_exporter_helper *h = oca_xcalloc(1, sizeof(*h));
    h->self = self;
    h->cfg = cfg;
    h->ops = ops;
    h->exporter = exporter;
    h->n_slots = cfg->sending_queue.num_consumers ? cfg->sending_queue.num_consumers : 1;
    h->slots = oca_xcalloc(h->n_slots, sizeof(*h->slots));
    for (uint32_t i = h->n_slots; i-- > 0;) {
        h->slots[i].h = h;
        h->slots[i].next_free = h->free_slots;
        h->free_slots = &h->slots[i];
    }
    h->rng = (uint64_t)uv_hrtime() * UINT64_C(0x9E3779B97F4A7C15) | 1;
    if (self->counters)
        self->counters->queue_capacity = cfg->sending_queue.enabled ? (int64_t)cfg->sending_queue.queue_size : -1;
    update_queue_gauge(h);
    return h;
}

static void on_slot_timer(uv_timer_t *t);

/* Gives slot s the batch (whose reference it takes over) and makes its first attempt on the next
 * turn of the loop, never inside the caller, so the exporter's send never runs on a receiver's
 * stack or inside the exporter's own completion callback. */
static void assign(struct oca_send_attempt *s, enum oca_signal sig, struct oca_batch *batch)
{
    s->sig = sig;
    s->batch = batch;
    s->tries = 0;
    uv_timer_start(&s->timer, on_slot_timer, 0, 0);
}

static struct oca_send_attempt *take_free_slot(struct oca_exporter_helper *h)
{
    struct oca_send_attempt *s = h->free_slots;
    if (s) {
        h->free_slots = s->next_free;
        s->next_free = NULL;
        h->busy++;
    }
    return s;
}

static struct queued *pop(struct oca_exporter_helper *h)
{
    struct queued *q = h->head;
    if (q) {
        h->head = q->next;
        if (!h->head)
            h->tail = NULL;
        h->queued--;
        update_queue_gauge(h);
    }
    return q;
}

/* Hands waiting batches to free senders. */
static void dispatch(struct oca_exporter_helper *h)
{
    while (h->head && h->free_slots) {
        struct queued *q = pop(h);
        assign(take_free_slot(h), q->sig, q->batch);
        free(q);
    }
}

int oca_exporter_helper_start(struct oca_exporter_helper *h, uv_loop_t *loop)
{
    h->loop = loop;
    for (uint32_t i = 0; i < h->n_slots; i++) {
        uv_timer_init(loop, &h->slots[i].timer);
        h->slots[i].timer.data = &h->slots[i];
    }
    h->open_timers = h->n_slots;
    h->started = true;
    dispatch(h);
    return OCA_OK;
}

int oca_exporter_helper_consume(struct oca_exporter_helper *h, enum oca_signal sig, struct oca_batch *batch)
{
    if (h->stopping)
        return OCA_ERR_SHUTTING_DOWN;
    struct oca_send_attempt *s = h->started && !h->head ? take_free_slot(h) : NULL;
    if (s) {
        count_held(h, sig, batch, true);
        assign(s, sig, oca_batch_ref(batch));
        return OCA_OK;
    }
    if (h->cfg->sending_queue.enabled && h->queued < h->cfg->sending_queue.queue_size) {
        struct queued *q = oca_xmalloc(sizeof(*q));
        *q = (struct queued){ .sig = sig, .batch = oca_batch_ref(batch) };
        if (h->tail)
            h->tail->next = q;
        else
            h->head = q;
        h->tail = q;
        h->queued++;
        update_queue_gauge(h);
        count_held(h, sig, batch, true);
        return OCA_OK;
    }
    oca_counters_add(h->self->counters, OCA_EDGE_ENQUEUE_FAILED, sig, batch->items);
    char note[64];
    if (log_allowed(&h->full_log, now_ms(h), note, sizeof(note)))
        oca_log_warn(h->self->id, "%s: refusing %zu %s%s",
                     h->cfg->sending_queue.enabled ? "sending queue is full" : "all senders are busy",
                     batch->items, item_word(sig), note);
    return OCA_ERR_QUEUE_FULL;
}

static void finish_shutdown(struct oca_exporter_helper *h)
{
    struct shutdown_waiter *w = h->waiters;
    size_t n = h->n_waiters;
    h->waiters = NULL;
    h->n_waiters = 0;
    h->finished = true;
    /* The helper may be freed by the first done; nothing of it is touched after. */
    for (size_t i = 0; i < n; i++)
        w[i].done(w[i].arg);
    free(w);
}

static void on_timer_closed(uv_handle_t *t)
{
    struct oca_send_attempt *s = t->data;
    struct oca_exporter_helper *h = s->h;
    if (--h->open_timers == 0)
        finish_shutdown(h);
}

/* Releases what is queued without sending it: only when the helper never started, so nothing
 * could ever send it. */
static void drop_queue(struct oca_exporter_helper *h)
{
    struct queued *q;
    while ((q = pop(h))) {
        oca_log_warn(h->self->id, "dropping %zu %s queued before the exporter started", q->batch->items,
                     item_word(q->sig));
        oca_counters_add(h->self->counters, OCA_EDGE_DROPPED, q->sig, q->batch->items);
        count_held(h, q->sig, q->batch, false);
        oca_batch_unref(q->batch);
        free(q);
    }
}

/* Once shutdown has begun and every batch is done with, closes the timers; done follows. */
static void maybe_finish(struct oca_exporter_helper *h)
{
    if (!h->stopping || h->closing || h->finished)
        return;
    if (!h->started) {
        drop_queue(h);
        finish_shutdown(h);
        return;
    }
    if (h->busy || h->head)
        return;
    h->closing = true;
    for (uint32_t i = 0; i < h->n_slots; i++)
        uv_close((uv_handle_t *)&h->slots[i].timer, on_timer_closed);
}

/* The batch of s is finished with (delivered or given up): s takes the next waiting one or
 * becomes free. */
static void release(struct oca_send_attempt *s)
{
    struct oca_exporter_helper *h = s->h;
    count_held(h, s->sig, s->batch, false);
    oca_batch_unref(s->batch);
    s->batch = NULL;
    struct queued *q = pop(h);
    if (q) {
        assign(s, q->sig, q->batch);
        free(q);
        return;
    }
    s->next_free = h->free_slots;
    h->free_slots = s;
    h->busy--;
    maybe_finish(h);
}

static void on_slot_timer(uv_timer_t *t)
{
    struct oca_send_attempt *s = t->data;
    struct oca_exporter_helper *h = s->h;
    if (s->tries++ == 0)
        oca_backoff_start(&s->backoff, &h->cfg->retry_on_failure, (int64_t)uv_now(h->loop) * OCA_NS_PER_MS);
    s->sending = true;
    h->ops->send(h->exporter, s->sig, s->batch, h->cfg->timeout_ns, s);
}

void oca_send_attempt_done(struct oca_send_attempt *s, const struct oca_send_result *res)
{
    struct oca_exporter_helper *h = s->h;
    assert(s->sending && s->batch);
    s->sending = false;
    const char *id = h->self->id;
    size_t items = s->batch->items;
    if (res->err == OCA_OK) {
        oca_counters_add(h->self->counters, OCA_EDGE_SENT, s->sig, items);
        release(s);
        return;
    }

    char msg[256];
    clean_message(msg, sizeof(msg), res->message);
    const char *sep = msg[0] ? ": " : "";
    int64_t now_ns = (int64_t)uv_now(h->loop) * OCA_NS_PER_MS;
    char note[64];
    const struct oca_retry_config *rc = &h->cfg->retry_on_failure;
    bool retryable = oca_err_retryable(res->err);
    if (retryable && rc->enabled) {
        int64_t asked = res->retry_after_ns > OCA_RETRY_AFTER_MAX_NS ? OCA_RETRY_AFTER_MAX_NS : res->retry_after_ns;
        int64_t wait = oca_backoff_next(&s->backoff, now_ns, next_random(h), asked);
        if (wait != OCA_BACKOFF_STOP) {
            if (log_allowed(&h->retry_log, now_ms(h), note, sizeof(note)))
                oca_log_info(id, "sending %zu %s failed (%s%s%s); attempt %u in %.3fs%s", items,
                             item_word(s->sig), oca_err_message(res->err), sep, msg, s->tries + 1,
                             (double)wait / 1e9, note);
            uv_timer_start(&s->timer, on_slot_timer, (uint64_t)((wait + OCA_NS_PER_MS - 1) / OCA_NS_PER_MS), 0);
            return;
        }
        if (log_allowed(&h->fail_log, now_ms(h), note, sizeof(note)))
            oca_log_error(id, "dropping %zu %s after %u attempts over %.1fs (no retries left): %s%s%s%s",
                          items, item_word(s->sig), s->tries, (double)(now_ns - s->backoff.start_ns) / 1e9,
                          oca_err_message(res->err), sep, msg, note);
    } else if (log_allowed(&h->fail_log, now_ms(h), note, sizeof(note))) {
        oca_log_error(id, "dropping %zu %s: %s%s%s (%s)%s", items, item_word(s->sig),
                      oca_err_message(res->err), sep, msg,
                      retryable ? "retry_on_failure is disabled" : "not retryable", note);
    }
    oca_counters_add(h->self->counters, OCA_EDGE_SEND_FAILED, s->sig, items);
    release(s);
}

void oca_exporter_helper_shutdown(struct oca_exporter_helper *h, void (*done)(void *arg), void *arg)
{
    if (h->finished) {
        done(arg);
        return;
    }
    h->waiters = oca_xrealloc(h->waiters, (h->n_waiters + 1) * sizeof(*h->waiters));
    h->waiters[h->n_waiters++] = (struct shutdown_waiter){ done, arg };
    h->stopping = true;
    maybe_finish(h);
}

void oca_exporter_helper_free(struct oca_exporter_helper *h)
{
    if (!h)
        return;
    assert(!h->started || h->finished);
    drop_queue(h);
    free(h->waiters);
    free(h->slots);
    free(h);
}
