/* Passing batches on from a component to whatever the graph wired after it. Receivers' edge counts
 * (accepted or refused items) are kept here, so every receiver counts the same way. */
#include "pipeline/component.h"

#include "base/errors.h"
#include "pipeline/batch.h"
#include "pipeline/counters.h"

int oca_next_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch)
{
    struct oca_consumer *next = sig < OCA_SIGNAL_COUNT ? self->next[sig] : NULL;
    int err = next ? next->consume(next, sig, batch) : OCA_ERR_UNSUPPORTED;
    if (self->type->kind == OCA_RECEIVER)
        oca_counters_add(self->counters, err ? OCA_EDGE_REFUSED : OCA_EDGE_ACCEPTED, sig, batch->items);
    return err;
}
