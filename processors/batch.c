/* The batch processor: gathers the batches of each signal until send_batch_size items (spans,
 * metric data points, log records) are pending or `timeout` has passed since the first of them, then
 * hands them on as one request. Outgoing requests are built at send time from new resource/scope
 * structs that point at the incoming items (oca_batch_hold), so nothing is copied, and a request
 * never exceeds send_batch_max_size items when that is set.
 * Raw-only batches (the encoded request, no structs: the graph sends them when everything after
 * this processor takes them) are gathered the same way, but an outgoing request is the
 * concatenation of whole incoming requests (take_raw), which is one valid request of their items;
 * an incoming raw request of more than send_batch_max_size items is decoded on arrival and split
 * like any other. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/diag.h"
#include "config/fields.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"

typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;

struct batch_config {
    uint32_t send_batch_size;
    int64_t timeout;
    uint32_t send_batch_max_size;
};

static const struct oca_field batch_fields[] = {
    OCA_FIELD_U32(struct batch_config, send_batch_size, "8192", 1, UINT32_MAX,
                  "Items (spans, metric data points or log records) after which a batch is sent "
                  "without waiting for the timeout; a trigger, not a limit on the batch size."),
    OCA_FIELD_DURATION(struct batch_config, timeout, "200ms", 0, 24 * 3600 * OCA_NS_PER_S,
                       "Longest time an item waits for its batch to fill, counted from the first "
                       "pending item. 0 sends every incoming batch straight on (still split by "
                       "send_batch_max_size)."),
    OCA_FIELD_U32(struct batch_config, send_batch_max_size, "0", 0, UINT32_MAX,
                  "Most items in one outgoing batch; larger ones are split, down to the data "
                  "points of one metric. 0: no limit. When set it must be at least "
                  "send_batch_size."),
    OCA_FIELD_END,
};

/* What waits to be sent for one signal: references to the incoming batches, and a cursor into
 * them that marks the first item not sent yet. Items before the cursor already went out. */
struct pending {
    struct oca_batch **batches;
    size_t n, cap;
    size_t b;                   /* batch */
    size_t at[OCA_LEVEL_COUNT]; /* resource, scope and item (span, metric, log record) in its parent */
    size_t point;               /* data point in the metric (metrics only) */
    size_t items;               /* items from the cursor on */
};

/* Scratch lists of pointers, reused while an outgoing request is assembled. */
struct ptrvec {
    void **v;
    size_t n, cap;
};

struct batch_proc {
    struct oca_component *self;
    const struct batch_config *cfg;
    struct pending pend[OCA_SIGNAL_COUNT];
    uv_timer_t timers[OCA_SIGNAL_COUNT];
    struct ptrvec scratch[OCA_LEVEL_COUNT];   /* one list per level */
    bool started, shutting_down;
    int open_handles;
    struct oca_waiters waiters;     /* shutdown calls still to be answered */
};

static const char *const item_words[] = { "spans", "metric data points", "log records" };

static void ptrvec_push(struct ptrvec *v, void *p)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->v = oca_xrealloc(v->v, v->cap * sizeof(*v->v));
    }
    v->v[v->n++] = p;
}

/* The cursor has reached the items limit of the request being built; only when everything
 * pending has gone out does the walk go on, to carry trailing empty resources and scopes along. */
static bool is_full(const struct pending *pd, size_t taken, size_t want)
{
    return taken == want && pd->items > 0;
}

static void next_batch(struct pending *pd)
{
    pd->b++;
    memset(pd->at, 0, sizeof(pd->at));
    pd->point = 0;
}

/* Drops the references to the batches the cursor has left behind; outgoing requests that point
 * into them hold references of their own. */
static void release_sent(struct pending *pd)
{
    if (pd->b == 0)
        return;
    for (size_t k = 0; k < pd->b; k++)
        oca_batch_unref(pd->batches[k]);
    memmove(pd->batches, pd->batches + pd->b, (pd->n - pd->b) * sizeof(*pd->batches));
    pd->n -= pd->b;
    pd->b = 0;
}

static void pending_add(struct pending *pd, struct oca_batch *batch, size_t items)
{
    if (pd->n == pd->cap) {
        pd->cap = pd->cap ? pd->cap * 2 : 8;
        pd->batches = oca_xrealloc(pd->batches, pd->cap * sizeof(*pd->batches));
    }
    pd->batches[pd->n++] = oca_batch_ref(batch);
    pd->items += items;
}

static void pending_free(struct pending *pd)
{
    for (size_t k = 0; k < pd->n; k++)
        oca_batch_unref(pd->batches[k]);
    free(pd->batches);
    memset(pd, 0, sizeof(*pd));
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* One outgoing request being assembled by take(). */
struct take {
    struct batch_proc *bp;
    struct pending *pd;
    enum oca_signal sig;
    const struct oca_otlp_level *levels;
    struct oca_arena *arena;        /* the outgoing request's */
    size_t want, taken;
};

/* Moves the cursor past k items that went into the request. */
static void count_taken(struct take *t, size_t k)
{
    t->taken += k;
    t->pd->items -= k;
}

static bool request_full(const struct take *t)
{
    return is_full(t->pd, t->taken, t->want);
}

/* Makes parent hold the children gathered in v, through an array in the outgoing request. */
static void set_children(struct take *t, const struct oca_otlp_level *lv, ProtobufCMessage *parent,
                         const struct ptrvec *v)
{
    ProtobufCMessage **children = v->n ? oca_arena_memdup(t->arena, v->v, v->n * sizeof(*children)) : NULL;
    oca_batch_set_children(lv, parent, children, v->n);
}

/* A metric carrying points [from, from + k) of m: m itself when that is all of them, else a copy
 * of the metric and of its data message whose point array is a slice of the original's. */
static Metric *slice_metric(struct oca_arena *a, Metric *m, size_t from, size_t k, size_t np)
{
    if (from == 0 && k == np)
        return m;
    struct oca_otlp_level points;
    ProtobufCMessage *data = oca_batch_metric_data(m, &points);
    ProtobufCMessage *odata = oca_arena_memdup(a, data, data->descriptor->sizeof_message);
    oca_batch_set_children(&points, odata, oca_batch_children(&points, data) + from, k);
    Metric *om = oca_arena_memdup(a, m, sizeof(*m));
    /* The data oneof is a union of pointers: this one member stands for whichever is set. */
    om->gauge = (Opentelemetry__Proto__Metrics__V1__Gauge *)odata;
    return om;
}

/* The items of scope entry `in` from the cursor on, as many as still fit, into its copy `out`.
 * Spans and log records are one slice of the scope's array; metrics go one by one, each cut down
 * to the data points that fit. Returns true when the scope has nothing left after the cursor. */
static bool take_items(struct take *t, ProtobufCMessage *in, ProtobufCMessage *out)
{
    const struct oca_otlp_level *lv = &t->levels[OCA_LEVEL_ITEMS];
    struct pending *pd = t->pd;
    size_t n = oca_batch_child_count(lv, in), *at = &pd->at[OCA_LEVEL_ITEMS];
    ProtobufCMessage **items = oca_batch_children(lv, in);
    if (t->sig != OCA_SIGNAL_METRICS) {
        size_t k = min_size(n - *at, t->want - t->taken);
        oca_batch_set_children(lv, out, k ? items + *at : NULL, k);
        count_taken(t, k);
        *at += k;
    } else {
        struct ptrvec *mv = &t->bp->scratch[OCA_LEVEL_ITEMS];
        mv->n = 0;
        while (*at < n && !request_full(t)) {
            Metric *m = (Metric *)items[*at];
            size_t np = oca_batch_metric_points(m);
            size_t k = min_size(np - pd->point, t->want - t->taken);
            ptrvec_push(mv, slice_metric(t->arena, m, pd->point, k, np));
            count_taken(t, k);
            pd->point += k;
            if (pd->point == np) {
                (*at)++;
                pd->point = 0;
            }
        }
        set_children(t, lv, out, mv);
    }
    if (*at < n)
        return false;
    *at = 0;
    return true;
}

/* Appends to `into` copies of the children of `in` at level d (the resource entries of a request,
 * the scope entries of a resource entry) from the cursor on, each given as many of its own
 * children as still fit, until the request is full. Returns true when `in` has nothing left after
 * the cursor. */
static bool take_children(struct take *t, int d, ProtobufCMessage *in, struct ptrvec *into)
{
    const struct oca_otlp_level *lv = &t->levels[d];
    size_t n = oca_batch_child_count(lv, in), *at = &t->pd->at[d];
    while (*at < n && !request_full(t)) {
        ProtobufCMessage *child = oca_batch_children(lv, in)[*at];
        ProtobufCMessage *copy = oca_arena_memdup(t->arena, child, lv->child->sizeof_message);
        bool used_up;
        if (d + 1 == OCA_LEVEL_ITEMS) {
            used_up = take_items(t, child, copy);
        } else {
            struct ptrvec *v = &t->bp->scratch[d + 1];
            v->n = 0;
            used_up = take_children(t, d + 1, child, v);
            set_children(t, &t->levels[d + 1], copy, v);
        }
        ptrvec_push(into, copy);
        if (used_up)
            (*at)++;
    }
    if (*at < n)
        return false;
    *at = 0;
    return true;
}

/* The next outgoing request: up to send_batch_max_size items from the cursor on (everything when
 * there is no limit), plus trailing empty entries once nothing else is left. Its resource and
 * scope entries are new structs; the items are the incoming ones (for metrics, cut to their data
 * points), whose batches the request holds. The walk is the same for every signal. */
static struct oca_batch *take(struct batch_proc *bp, enum oca_signal sig, struct pending *pd)
{
    size_t max = bp->cfg->send_batch_max_size;
    struct oca_batch *out = oca_batch_new(sig);
    struct take t = {
        .bp = bp, .pd = pd, .sig = sig, .levels = oca_batch_levels(sig), .arena = out->arena,
        .want = max && pd->items > max ? max : pd->items,
    };
    struct ptrvec *rv = &bp->scratch[OCA_LEVEL_RESOURCES];
    rv->n = 0;
    while (pd->b < pd->n) {
        struct oca_batch *in = pd->batches[pd->b];
        if (!in->msg)
            break;                  /* raw-only: the next request takes it (take_raw) */
        size_t before = rv->n;
        bool used_up = take_children(&t, OCA_LEVEL_RESOURCES, in->msg, rv);
        if (rv->n > before)
            oca_batch_hold(out, in);
        if (!used_up)
            break;
        next_batch(pd);
    }
    set_children(&t, &t.levels[OCA_LEVEL_RESOURCES], out->msg, rv);
    out->items = t.taken;
    release_sent(pd);
    return out;
}

/* The next outgoing request when the cursor is at a raw-only batch: the raw bytes of whole raw
 * batches, concatenated, while they fit in send_batch_max_size (always at least one: a larger one
 * was decoded on arrival). The request holds the batches its bytes live in; nothing is copied. */
static struct oca_batch *take_raw(struct batch_proc *bp, enum oca_signal sig, struct pending *pd)
{
    size_t max = bp->cfg->send_batch_max_size;
    struct oca_batch *out = oca_batch_new_raw(sig);
    while (pd->b < pd->n) {
        struct oca_batch *in = pd->batches[pd->b];
        if (in->msg || (max && out->n_raw > 0 && out->items + in->items > max))
            break;
        for (size_t i = 0; i < in->n_raw; i++)
            oca_batch_add_raw(out, in->raw[i].data, in->raw[i].len);
        oca_batch_hold(out, in);
        out->items += in->items;
        pd->items -= in->items;
        next_batch(pd);
    }
    release_sent(pd);
    return out;
}

/* The next outgoing request, from raw or decoded batches according to the one at the cursor. */
static struct oca_batch *take_next(struct batch_proc *bp, enum oca_signal sig, struct pending *pd)
{
    return pd->batches[pd->b]->msg ? take(bp, sig, pd) : take_raw(bp, sig, pd);
}

/* Sends one request built by take. Once the data has left the pending list there is nobody to
 * hand a refusal back to, so a failure is counted as dropped and logged. */
static void send_out(struct batch_proc *bp, enum oca_signal sig, struct oca_batch *out)
{
    int err = oca_next_consume(bp->self, sig, out);
    if (err) {
        oca_counters_add(bp->self->counters, OCA_EDGE_DROPPED, sig, out->items);
        oca_log_warn(bp->self->id, "dropped %zu %s: the next consumer refused them (%s: %s)", out->items,
                     item_words[sig], oca_err_name(err), oca_err_message(err));
    }
    oca_batch_unref(out);
}

static void flush_all(struct batch_proc *bp, enum oca_signal sig)
{
    struct pending *pd = &bp->pend[sig];
    while (pd->n > 0)
        send_out(bp, sig, take_next(bp, sig, pd));
}

static uint64_t timeout_ms(const struct batch_config *cfg)
{
    return (uint64_t)((cfg->timeout + OCA_NS_PER_MS - 1) / OCA_NS_PER_MS);
}

static void on_timeout(uv_timer_t *t)
{
    struct batch_proc *bp = t->data;
    enum oca_signal sig = (enum oca_signal)(t - bp->timers);
    flush_all(bp, sig);
}

/* The timer of a signal runs exactly while something of that signal is pending. */
static void start_timer_if_pending(struct batch_proc *bp, enum oca_signal sig)
{
    if (!bp->started || bp->shutting_down)
        return;
    uv_timer_t *t = &bp->timers[sig];
    bool active = uv_is_active((uv_handle_t *)t) != 0;
    if (bp->pend[sig].n > 0 && !active) {
        /* The loop's cached time may be as old as the start of this iteration. */
        uv_update_time(t->loop);
        uv_timer_start(t, on_timeout, timeout_ms(bp->cfg), 0);
    } else if (bp->pend[sig].n == 0 && active) {
        uv_timer_stop(t);
    }
}

/* Splits batch into requests of at most send_batch_max_size items and sends them at once; the
 * first refusal is returned to the caller, which then owns the retry (items sent before it may be
 * sent again: at least once, never lost). */
static int pass_through(struct batch_proc *bp, enum oca_signal sig, struct oca_batch *batch, size_t items)
{
    uint32_t max = bp->cfg->send_batch_max_size;
    if (!max || items <= max)
        return oca_next_consume(bp->self, sig, batch);
    struct pending tmp = { 0 };
    int err = OCA_OK;
    pending_add(&tmp, batch, items);
    while (tmp.n > 0 && err == OCA_OK) {
        struct oca_batch *out = take_next(bp, sig, &tmp);
        err = oca_next_consume(bp->self, sig, out);
        oca_batch_unref(out);
    }
    pending_free(&tmp);
    return err;
}

static int batch_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch)
{
    struct batch_proc *bp = self->state;
    if (sig >= OCA_SIGNAL_COUNT)
        return OCA_ERR_UNSUPPORTED;
    uint32_t max = bp->cfg->send_batch_max_size;
    struct oca_batch *decoded = NULL;
    if (!batch->msg && max && batch->items > max)
        batch = decoded = oca_batch_decoded(batch);  /* to be split; see the header comment */
    /* Counted here rather than trusted from batch->items: the walk in take() must agree with the
     * count item for item. A raw-only batch's count is the receiver's walk of its bytes. */
    size_t items = batch->msg ? oca_batch_count_items(sig, batch->msg) : batch->items;
    struct pending *pd = &bp->pend[sig];
    if (bp->cfg->timeout == 0 || bp->shutting_down || (items == 0 && pd->n == 0)) {
        int err = pass_through(bp, sig, batch, items);
        oca_counters_add(self->counters, err ? OCA_EDGE_REFUSED : OCA_EDGE_ACCEPTED, sig, items);
        oca_batch_unref(decoded);
        return err;
    }
    pending_add(pd, batch, items);
    oca_batch_unref(decoded);
    oca_counters_add(self->counters, OCA_EDGE_ACCEPTED, sig, items);
    while (pd->items > 0 && pd->items >= bp->cfg->send_batch_size)
        send_out(bp, sig, take_next(bp, sig, pd));
    start_timer_if_pending(bp, sig);
    return OCA_OK;
}

static int batch_validate(const void *cfgp, struct oca_diag *diag)
{
    const struct batch_config *cfg = cfgp;
    if (cfg->send_batch_max_size != 0 && cfg->send_batch_max_size < cfg->send_batch_size) {
        oca_diag_field_error(diag, "send_batch_max_size",
                             "send_batch_max_size (%u) must be 0 (no limit) or at least send_batch_size (%u)",
                             cfg->send_batch_max_size, cfg->send_batch_size);
        return OCA_ERR_CONFIG;
    }
    return OCA_OK;
}

static int batch_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    struct batch_proc *bp = oca_xcalloc(1, sizeof(*bp));
    bp->self = self;
    bp->cfg = self->config;
    self->state = bp;
    return OCA_OK;
}

static int batch_start(struct oca_component *self, uv_loop_t *loop)
{
    struct batch_proc *bp = self->state;
    if (bp->started || bp->shutting_down)
        return OCA_OK;
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++) {
        uv_timer_init(loop, &bp->timers[s]);
        bp->timers[s].data = bp;
    }
    bp->open_handles = OCA_SIGNAL_COUNT;
    bp->started = true;
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
        start_timer_if_pending(bp, (enum oca_signal)s);
    return OCA_OK;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct batch_proc *bp = h->data;
    if (--bp->open_handles == 0)
        oca_waiters_notify(&bp->waiters, bp->self);
}

/* Flushes everything pending through the next consumer (still running: shutdown goes upstream
 * first), closes the timers and then calls done. Each call is answered by exactly one done. */
static void batch_shutdown(struct oca_component *self, oca_done_cb done)
{
    struct batch_proc *bp = self->state;
    oca_waiters_add(&bp->waiters, done);
    if (!bp->shutting_down) {
        bp->shutting_down = true;
        for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
            flush_all(bp, (enum oca_signal)s);
        if (bp->started)
            for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
                uv_close((uv_handle_t *)&bp->timers[s], on_timer_closed);
    }
    if (bp->open_handles == 0)
        oca_waiters_notify(&bp->waiters, bp->self);
}

static void batch_destroy(struct oca_component *self)
{
    struct batch_proc *bp = self->state;
    if (!bp)
        return;
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
        pending_free(&bp->pend[s]);
    for (int k = 0; k < OCA_LEVEL_COUNT; k++)
        free(bp->scratch[k].v);
    free(bp->waiters.cbs);
    free(bp);
    self->state = NULL;
}

const struct oca_component_type oca_batch_processor = {
    .name = "batch",
    .kind = OCA_PROCESSOR,
    .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
    .mutates_data = false,
    .takes_raw = oca_takes_raw_always,      /* concatenates raw requests (take_raw) */
    .config_size = sizeof(struct batch_config),
    .fields = batch_fields,
    .doc = "Groups spans, metric points and log records into batches by count and time.",
    .validate = batch_validate,
    .create = batch_create,
    .start = batch_start,
    .consume = batch_consume,
    .shutdown = batch_shutdown,
    .destroy = batch_destroy,
};
