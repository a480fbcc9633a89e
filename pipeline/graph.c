/* Builds, starts and stops the component graph described in graph.h. Every edge of the graph is
 * a fan-out node, even with one target, so the one place that decides whether a consumer needs a
 * private copy of a batch (it mutates data and someone else can see the batch), or decoded structs
 * of a raw-only batch, is fanout_consume. Whether raw-only batches may flow is decided once, here,
 * from the exporters up: see oca_consumer.takes_raw. */
#include "pipeline/graph.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/diag.h"
#include "pipeline/batch.h"
#include "pipeline/counters.h"

struct fanout {
    struct oca_consumer base;
    struct oca_consumer **targets;
    size_t n;
    struct fanout *next_alloc;
};

struct oca_graph {
    struct oca_component **order;       /* start order */
    size_t n, cap;
    struct fanout *fanouts;             /* every fan-out node, for freeing */
    size_t stopping;                    /* shutdown: index into order, counted from the end */
    bool shutdown_called;
    void (*done_cb)(void *arg);
    void *done_arg;
};

static int fanout_consume(struct oca_consumer *c, enum oca_signal sig, struct oca_batch *batch)
{
    struct fanout *f = (struct fanout *)c;
    int result = OCA_OK;
    for (size_t i = 0; i < f->n; i++) {
        struct oca_consumer *t = f->targets[i];
        int err;
        if (!batch->msg && !t->takes_raw) {
            /* Receivers decode when a consumer needs structs, so this is a safety net. */
            struct oca_batch *dec = oca_batch_decoded(batch);
            err = t->consume(t, sig, dec);
            oca_batch_unref(dec);
        } else if (t->mutates_data && (f->n > 1 || oca_batch_is_shared(batch))) {
            struct oca_batch *copy = oca_batch_clone(batch);
            err = t->consume(t, sig, copy);
            oca_batch_unref(copy);
        } else {
            err = t->consume(t, sig, batch);
        }
        /* A retryable failure wins over a permanent one: the sender should try again. */
        if (err && (result == OCA_OK || (oca_err_retryable(err) && !oca_err_retryable(result))))
            result = err;
    }
    return result;
}

static struct fanout *fanout_new(struct oca_graph *g)
{
    struct fanout *f = oca_xcalloc(1, sizeof(*f));
    f->base.consume = fanout_consume;
    f->next_alloc = g->fanouts;
    g->fanouts = f;
    return f;
}

static void fanout_add(struct fanout *f, struct oca_consumer *target)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->targets[i] == target)
            return;
    f->targets = oca_xrealloc(f->targets, (f->n + 1) * sizeof(*f->targets));
    /* Raw-only batches may pass a fan-out only when every target takes them. */
    f->base.takes_raw = (f->n == 0 || f->base.takes_raw) && target->takes_raw;
    f->targets[f->n++] = target;
    /* A fan-out that feeds a mutating consumer mutates too, as seen from whoever feeds it: a
     * receiver feeding two pipelines must then give this one its own copy. */
    f->base.mutates_data |= target->mutates_data;
}

static int component_consume(struct oca_consumer *c, enum oca_signal sig, struct oca_batch *batch)
{
    struct oca_component *self = (struct oca_component *)((char *)c - offsetof(struct oca_component, as_consumer));
    return self->type->consume(self, sig, batch);
}

static struct oca_component *add_component(struct oca_graph *g, const struct oca_component_config *cc,
                                           struct oca_diag *diag)
{
    struct oca_component *c = oca_xcalloc(1, sizeof(*c));
    c->type = cc->type;
    c->id = cc->id;
    c->config = cc->config;
    c->owner = g;
    c->as_consumer.consume = component_consume;
    c->as_consumer.mutates_data = cc->type->mutates_data;
    /* A processor's answer is final once its next fan-out is known (add_pipeline). */
    c->as_consumer.takes_raw = cc->type->takes_raw && cc->type->takes_raw(cc->config);
    c->counters = oca_counters_register(cc->type->kind, cc->id);
    if (cc->type->create && cc->type->create(c, diag) != OCA_OK) {
        oca_diag_error(diag, cc->node, NULL, "%s \"%s\": could not be created", oca_kind_name(cc->type->kind), cc->id);
        free(c);
        return NULL;
    }
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->order = oca_xrealloc(g->order, g->cap * sizeof(*g->order));
    }
    g->order[g->n++] = c;
    return c;
}

static struct oca_component *find_instance(struct oca_graph *g, enum oca_kind kind, const char *id)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->order[i]->type->kind == kind && strcmp(g->order[i]->id, id) == 0)
            return g->order[i];
    return NULL;
}

/* Instances of every used component of one kind, in config order. */
static int add_kind(struct oca_graph *g, const struct oca_collector_config *cfg, enum oca_kind kind,
                    struct oca_diag *diag)
{
    for (size_t i = 0; i < cfg->n_components[kind]; i++) {
        const struct oca_component_config *cc = &cfg->components[kind][i];
        if (!cc->used) {
            oca_log_warn(NULL, "%s \"%s\" is configured but not used by any pipeline", oca_kind_name(kind), cc->id);
            continue;
        }
        if (!add_component(g, cc, diag))
            return OCA_ERR_CONFIG;
    }
    return OCA_OK;
}

/* Processors of one pipeline, created last to first so start order runs downstream first; returns
 * the pipeline's entry consumer through *entry. */
static int add_pipeline(struct oca_graph *g, const struct oca_collector_config *cfg,
                        const struct oca_pipeline_config *p, struct oca_diag *diag, struct oca_consumer **entry)
{
    struct fanout *next = fanout_new(g);
    for (size_t i = 0; i < p->n_exporters; i++)
        fanout_add(next, &find_instance(g, OCA_EXPORTER, p->exporters[i])->as_consumer);
    for (size_t i = p->n_processors; i-- > 0;) {
        const struct oca_component_config *cc = oca_collector_config_find(cfg, OCA_PROCESSOR, p->processors[i]);
        struct oca_component *proc = add_component(g, cc, diag);
        if (!proc)
            return OCA_ERR_CONFIG;
        proc->next[p->signal] = &next->base;
        proc->as_consumer.takes_raw = proc->as_consumer.takes_raw && next->base.takes_raw;
        next = fanout_new(g);
        fanout_add(next, &proc->as_consumer);
    }
    *entry = &next->base;
    return OCA_OK;
}

static int wire_receivers(struct oca_graph *g, const struct oca_pipeline_config *p, struct oca_consumer *entry)
{
    for (size_t i = 0; i < p->n_receivers; i++) {
        struct oca_component *rx = find_instance(g, OCA_RECEIVER, p->receivers[i]);
        struct fanout *f = (struct fanout *)rx->next[p->signal];
        if (!f) {
            f = fanout_new(g);
            rx->next[p->signal] = &f->base;
        }
        /* The pipeline's entry fan-out has exactly one target or is the exporters' fan-out. */
        fanout_add(f, entry);
    }
    return OCA_OK;
}

struct oca_graph *oca_graph_build(const struct oca_collector_config *cfg, struct oca_diag *diag)
{
    struct oca_graph *g = oca_xcalloc(1, sizeof(*g));
    struct oca_consumer **entries = oca_xcalloc(cfg->n_pipelines + 1, sizeof(*entries));
    if (add_kind(g, cfg, OCA_EXTENSION, diag) || add_kind(g, cfg, OCA_EXPORTER, diag))
        goto fail;
    for (size_t i = 0; i < cfg->n_pipelines; i++)
        if (add_pipeline(g, cfg, &cfg->pipelines[i], diag, &entries[i]))
            goto fail;
    if (add_kind(g, cfg, OCA_RECEIVER, diag))
        goto fail;
    for (size_t i = 0; i < cfg->n_pipelines; i++)
        wire_receivers(g, &cfg->pipelines[i], entries[i]);
    free(entries);
    return g;
fail:
    free(entries);
    oca_graph_destroy(g);
    return NULL;
}

int oca_graph_start(struct oca_graph *g, uv_loop_t *loop)
{
    for (size_t i = 0; i < g->n; i++) {
        struct oca_component *c = g->order[i];
        c->loop = loop;
        int err = c->type->start ? c->type->start(c, loop) : OCA_OK;
        if (err) {
            oca_log_error(c->id, "failed to start: %s", oca_err_message(err));
            return err;
        }
    }
    return OCA_OK;
}

static void shutdown_next(struct oca_graph *g);

static void on_component_down(struct oca_component *c)
{
    struct oca_graph *g = c->owner;
    oca_log_debug(c->id, "stopped");
    g->stopping++;
    shutdown_next(g);
}

static void shutdown_next(struct oca_graph *g)
{
    while (g->stopping < g->n) {
        struct oca_component *c = g->order[g->n - 1 - g->stopping];
        if (c->type->shutdown) {
            c->type->shutdown(c, on_component_down);
            return;
        }
        g->stopping++;
    }
    if (g->done_cb) {
        void (*cb)(void *) = g->done_cb;
        g->done_cb = NULL;
        cb(g->done_arg);
    }
}

void oca_graph_shutdown(struct oca_graph *g, void (*done_cb)(void *arg), void *arg)
{
    if (g->shutdown_called)
        return;
    g->shutdown_called = true;
    g->done_cb = done_cb;
    g->done_arg = arg;
    shutdown_next(g);
}

void oca_graph_destroy(struct oca_graph *g)
{
    if (!g)
        return;
    for (size_t i = g->n; i-- > 0;) {
        if (g->order[i]->type->destroy)
            g->order[i]->type->destroy(g->order[i]);
        free(g->order[i]);
    }
    free(g->order);
    for (struct fanout *f = g->fanouts, *next; f; f = next) {
        next = f->next_alloc;
        free(f->targets);
        free(f);
    }
    free(g);
}

size_t oca_graph_size(const struct oca_graph *g) { return g->n; }
struct oca_component *oca_graph_component(struct oca_graph *g, size_t i) { return i < g->n ? g->order[i] : NULL; }
