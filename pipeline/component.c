/* Passing batches on from a component to whatever the graph wired after it. Receivers' edge counts
 * (accepted or refused items) are kept here, so every receiver counts the same way. Also the list
 * of unanswered shutdown calls that components with an asynchronous shutdown share. */
#include "pipeline/component.h"

#include <stdlib.h>

#include "base/errors.h"
#include "base/mem.h"
#include "pipeline/batch.h"
#include "pipeline/counters.h"

bool oca_takes_raw_always(const void *cfg)
{
    (void)cfg;
    return true;
}

bool oca_next_takes_raw(const struct oca_component *self, enum oca_signal sig)
{
    const struct oca_consumer *next = sig < OCA_SIGNAL_COUNT ? self->next[sig] : NULL;
    return next && next->takes_raw;
}

int oca_next_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch)
{
    struct oca_consumer *next = sig < OCA_SIGNAL_COUNT ? self->next[sig] : NULL;
    int err = next ? next->consume(next, sig, batch) : OCA_ERR_UNSUPPORTED;
    if (self->type->kind == OCA_RECEIVER)
        oca_counters_add(self->counters, err ? OCA_EDGE_REFUSED : OCA_EDGE_ACCEPTED, sig, batch->items);
    return err;
}

void oca_waiters_add(struct oca_waiters *w, oca_done_cb done)
{
    w->cbs = oca_xrealloc(w->cbs, (w->n + 1) * sizeof(*w->cbs));
    w->cbs[w->n++] = done;
}

void oca_waiters_notify(struct oca_waiters *w, struct oca_component *self)
{
    oca_done_cb *list = w->cbs;
    size_t n = w->n;
    w->cbs = NULL;
    w->n = 0;
    for (size_t k = 0; k < n; k++)
        list[k](self);
    free(list);
}
