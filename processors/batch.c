/* The batch processor: gathers the batches of each signal until send_batch_size items (spans,
 * metric data points, log records) are pending or `timeout` has passed since the first of them, then
 * hands them on as one request. Outgoing requests are built at send time from new resource/scope
 * structs that point at the incoming items (oca_batch_hold), so nothing is copied, and a request
 * never exceeds send_batch_max_size items when that is set. */
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

typedef Opentelemetry__Proto__Trace__V1__ResourceSpans ResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans ScopeSpans;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics ResourceMetrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics ScopeMetrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs ResourceLogs;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs ScopeLogs;

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
    size_t b, r, s, m, i;   /* batch, resource, scope, metric (metrics only), item in the parent */
    size_t items;           /* items from the cursor on */
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
    struct ptrvec scratch[3];
    bool started, shutting_down;
    int open_handles;
    oca_done_cb *waiters;    /* one per shutdown call still to be answered */
    size_t n_waiters;
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
    pd->r = pd->s = pd->m = pd->i = 0;
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

static struct oca_batch *take_traces(struct batch_proc *bp, struct pending *pd, size_t want)
{
    struct oca_batch *out = oca_batch_new(OCA_SIGNAL_TRACES);
    struct oca_arena *a = out->arena;
    struct ptrvec *rv = &bp->scratch[0], *sv = &bp->scratch[1];
    size_t taken = 0;
    rv->n = 0;
    while (pd->b < pd->n) {
        struct oca_batch *in = pd->batches[pd->b];
        if (pd->r == in->traces->n_resource_spans) {
            next_batch(pd);
            continue;
        }
        if (is_full(pd, taken, want))
            break;
        ResourceSpans *rs = in->traces->resource_spans[pd->r];
        ResourceSpans *ors = oca_arena_memdup(a, rs, sizeof(*rs));
        oca_batch_hold(out, in);
        sv->n = 0;
        while (pd->s < rs->n_scope_spans && !is_full(pd, taken, want)) {
            ScopeSpans *ss = rs->scope_spans[pd->s];
            size_t k = min_size(ss->n_spans - pd->i, want - taken);
            ScopeSpans *oss = oca_arena_memdup(a, ss, sizeof(*ss));
            oss->spans = k ? ss->spans + pd->i : NULL;
            oss->n_spans = k;
            ptrvec_push(sv, oss);
            taken += k;
            pd->items -= k;
            pd->i += k;
            if (pd->i == ss->n_spans) {
                pd->s++;
                pd->i = 0;
            }
        }
        ors->n_scope_spans = sv->n;
        ors->scope_spans = sv->n ? oca_arena_alloc(a, sv->n * sizeof(*ors->scope_spans)) : NULL;
        for (size_t k = 0; k < sv->n; k++)
            ors->scope_spans[k] = sv->v[k];
        ptrvec_push(rv, ors);
        if (pd->s == rs->n_scope_spans) {
            pd->r++;
            pd->s = 0;
        }
    }
    out->traces->n_resource_spans = rv->n;
    out->traces->resource_spans = rv->n ? oca_arena_alloc(a, rv->n * sizeof(*out->traces->resource_spans)) : NULL;
    for (size_t k = 0; k < rv->n; k++)
        out->traces->resource_spans[k] = rv->v[k];
    out->items = taken;
    release_sent(pd);
    return out;
}

static struct oca_batch *take_logs(struct batch_proc *bp, struct pending *pd, size_t want)
{
    struct oca_batch *out = oca_batch_new(OCA_SIGNAL_LOGS);
    struct oca_arena *a = out->arena;
    struct ptrvec *rv = &bp->scratch[0], *sv = &bp->scratch[1];
    size_t taken = 0;
    rv->n = 0;
    while (pd->b < pd->n) {
        struct oca_batch *in = pd->batches[pd->b];
        if (pd->r == in->logs->n_resource_logs) {
            next_batch(pd);
            continue;
        }
        if (is_full(pd, taken, want))
            break;
        ResourceLogs *rl = in->logs->resource_logs[pd->r];
        ResourceLogs *orl = oca_arena_memdup(a, rl, sizeof(*rl));
        oca_batch_hold(out, in);
        sv->n = 0;
        while (pd->s < rl->n_scope_logs && !is_full(pd, taken, want)) {
            ScopeLogs *sl = rl->scope_logs[pd->s];
            size_t k = min_size(sl->n_log_records - pd->i, want - taken);
            ScopeLogs *osl = oca_arena_memdup(a, sl, sizeof(*sl));
            osl->log_records = k ? sl->log_records + pd->i : NULL;
            osl->n_log_records = k;
            ptrvec_push(sv, osl);
            taken += k;
            pd->items -= k;
            pd->i += k;
            if (pd->i == sl->n_log_records) {
                pd->s++;
                pd->i = 0;
            }
        }
        orl->n_scope_logs = sv->n;
        orl->scope_logs = sv->n ? oca_arena_alloc(a, sv->n * sizeof(*orl->scope_logs)) : NULL;
        for (size_t k = 0; k < sv->n; k++)
            orl->scope_logs[k] = sv->v[k];
        ptrvec_push(rv, orl);
        if (pd->s == rl->n_scope_logs) {
            pd->r++;
            pd->s = 0;
        }
    }
    out->logs->n_resource_logs = rv->n;
    out->logs->resource_logs = rv->n ? oca_arena_alloc(a, rv->n * sizeof(*out->logs->resource_logs)) : NULL;
    for (size_t k = 0; k < rv->n; k++)
        out->logs->resource_logs[k] = rv->v[k];
    out->items = taken;
    release_sent(pd);
    return out;
}

/* A metric carrying points [from, from + k) of m: m itself when that is all of them, else a copy
 * of the metric and of its data message whose point array is a slice of the original's. */
static Metric *slice_metric(struct oca_arena *a, Metric *m, size_t from, size_t k, size_t np)
{
    if (from == 0 && k == np)
        return m;
    Metric *om = oca_arena_memdup(a, m, sizeof(*m));
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        om->gauge = oca_arena_memdup(a, m->gauge, sizeof(*m->gauge));
        om->gauge->data_points = m->gauge->data_points + from;
        om->gauge->n_data_points = k;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        om->sum = oca_arena_memdup(a, m->sum, sizeof(*m->sum));
        om->sum->data_points = m->sum->data_points + from;
        om->sum->n_data_points = k;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        om->histogram = oca_arena_memdup(a, m->histogram, sizeof(*m->histogram));
        om->histogram->data_points = m->histogram->data_points + from;
        om->histogram->n_data_points = k;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        om->exponential_histogram = oca_arena_memdup(a, m->exponential_histogram, sizeof(*m->exponential_histogram));
        om->exponential_histogram->data_points = m->exponential_histogram->data_points + from;
        om->exponential_histogram->n_data_points = k;
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        om->summary = oca_arena_memdup(a, m->summary, sizeof(*m->summary));
        om->summary->data_points = m->summary->data_points + from;
        om->summary->n_data_points = k;
        break;
    default:
        break;
    }
    return om;
}

static struct oca_batch *take_metrics(struct batch_proc *bp, struct pending *pd, size_t want)
{
    struct oca_batch *out = oca_batch_new(OCA_SIGNAL_METRICS);
    struct oca_arena *a = out->arena;
    struct ptrvec *rv = &bp->scratch[0], *sv = &bp->scratch[1], *mv = &bp->scratch[2];
    size_t taken = 0;
    rv->n = 0;
    while (pd->b < pd->n) {
        struct oca_batch *in = pd->batches[pd->b];
        if (pd->r == in->metrics->n_resource_metrics) {
            next_batch(pd);
            continue;
        }
        if (is_full(pd, taken, want))
            break;
        ResourceMetrics *rm = in->metrics->resource_metrics[pd->r];
        ResourceMetrics *orm = oca_arena_memdup(a, rm, sizeof(*rm));
        oca_batch_hold(out, in);
        sv->n = 0;
        while (pd->s < rm->n_scope_metrics && !is_full(pd, taken, want)) {
            ScopeMetrics *sm = rm->scope_metrics[pd->s];
            ScopeMetrics *osm = oca_arena_memdup(a, sm, sizeof(*sm));
            mv->n = 0;
            while (pd->m < sm->n_metrics && !is_full(pd, taken, want)) {
                Metric *mt = sm->metrics[pd->m];
                size_t np = oca_batch_metric_points(mt);
                size_t k = min_size(np - pd->i, want - taken);
                ptrvec_push(mv, slice_metric(a, mt, pd->i, k, np));
                taken += k;
                pd->items -= k;
                pd->i += k;
                if (pd->i == np) {
                    pd->m++;
                    pd->i = 0;
                }
            }
            osm->n_metrics = mv->n;
            osm->metrics = mv->n ? oca_arena_alloc(a, mv->n * sizeof(*osm->metrics)) : NULL;
            for (size_t k = 0; k < mv->n; k++)
                osm->metrics[k] = mv->v[k];
            ptrvec_push(sv, osm);
            if (pd->m == sm->n_metrics) {
                pd->s++;
                pd->m = 0;
            }
        }
        orm->n_scope_metrics = sv->n;
        orm->scope_metrics = sv->n ? oca_arena_alloc(a, sv->n * sizeof(*orm->scope_metrics)) : NULL;
        for (size_t k = 0; k < sv->n; k++)
            orm->scope_metrics[k] = sv->v[k];
        ptrvec_push(rv, orm);
        if (pd->s == rm->n_scope_metrics) {
            pd->r++;
            pd->s = 0;
        }
    }
    out->metrics->n_resource_metrics = rv->n;
    out->metrics->resource_metrics =
        rv->n ? oca_arena_alloc(a, rv->n * sizeof(*out->metrics->resource_metrics)) : NULL;
    for (size_t k = 0; k < rv->n; k++)
        out->metrics->resource_metrics[k] = rv->v[k];
    out->items = taken;
    release_sent(pd);
    return out;
}

/* The next outgoing request: up to send_batch_max_size items from the cursor on (everything when
 * there is no limit), plus trailing empty entries once nothing else is left. */
static struct oca_batch *take(struct batch_proc *bp, enum oca_signal sig, struct pending *pd)
{
    size_t max = bp->cfg->send_batch_max_size;
    size_t want = max && pd->items > max ? max : pd->items;
    switch (sig) {
    case OCA_SIGNAL_TRACES:
        return take_traces(bp, pd, want);
    case OCA_SIGNAL_METRICS:
        return take_metrics(bp, pd, want);
    default:
        return take_logs(bp, pd, want);
    }
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
        send_out(bp, sig, take(bp, sig, pd));
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
        struct oca_batch *out = take(bp, sig, &tmp);
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
    /* Counted here rather than trusted from batch->items: the walk in take() must agree with the
     * count item for item. */
    size_t items = oca_batch_count_items(sig, batch->msg);
    struct pending *pd = &bp->pend[sig];
    if (bp->cfg->timeout == 0 || bp->shutting_down || (items == 0 && pd->n == 0)) {
        int err = pass_through(bp, sig, batch, items);
        oca_counters_add(self->counters, err ? OCA_EDGE_REFUSED : OCA_EDGE_ACCEPTED, sig, items);
        return err;
    }
    pending_add(pd, batch, items);
    oca_counters_add(self->counters, OCA_EDGE_ACCEPTED, sig, items);
    while (pd->items > 0 && pd->items >= bp->cfg->send_batch_size)
        send_out(bp, sig, take(bp, sig, pd));
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

/* Answers every shutdown call made so far. A done callback may destroy the component, so the
 * list is detached from the state before the first call. */
static void notify_done(struct batch_proc *bp)
{
    struct oca_component *self = bp->self;
    oca_done_cb *list = bp->waiters;
    size_t n = bp->n_waiters;
    bp->waiters = NULL;
    bp->n_waiters = 0;
    for (size_t k = 0; k < n; k++)
        list[k](self);
    free(list);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct batch_proc *bp = h->data;
    if (--bp->open_handles == 0)
        notify_done(bp);
}

/* Flushes everything pending through the next consumer (still running: shutdown goes upstream
 * first), closes the timers and then calls done. Each call is answered by exactly one done. */
static void batch_shutdown(struct oca_component *self, oca_done_cb done)
{
    struct batch_proc *bp = self->state;
    bp->waiters = oca_xrealloc(bp->waiters, (bp->n_waiters + 1) * sizeof(*bp->waiters));
    bp->waiters[bp->n_waiters++] = done;
    if (!bp->shutting_down) {
        bp->shutting_down = true;
        for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
            flush_all(bp, (enum oca_signal)s);
        if (bp->started)
            for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
                uv_close((uv_handle_t *)&bp->timers[s], on_timer_closed);
    }
    if (bp->open_handles == 0)
        notify_done(bp);
}

static void batch_destroy(struct oca_component *self)
{
    struct batch_proc *bp = self->state;
    if (!bp)
        return;
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
        pending_free(&bp->pend[s]);
    for (int k = 0; k < 3; k++)
        free(bp->scratch[k].v);
    free(bp->waiters);
    free(bp);
    self->state = NULL;
}

const struct oca_component_type oca_batch_processor = {
    .name = "batch",
    .kind = OCA_PROCESSOR,
    .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
    .mutates_data = false,
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
