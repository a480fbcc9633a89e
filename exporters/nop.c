/* The nop exporter: counts every item it is given as sent and drops it. For benchmarks (the
 * receiving side measured alone) and for users who want a pipeline's data counted and discarded,
 * like the Collector's nopexporter. No config, no queue, nothing asynchronous. */
#include <stddef.h>

#include "base/errors.h"
#include "config/fields.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"

static const struct oca_field nop_fields[] = {
    OCA_FIELD_END,
};

static int nop_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch)
{
    if (sig >= OCA_SIGNAL_COUNT)
        return OCA_ERR_UNSUPPORTED;
    oca_counters_add(self->counters, OCA_EDGE_SENT, sig, batch->items);
    return OCA_OK;
}

static void nop_shutdown(struct oca_component *self, oca_done_cb done)
{
    done(self);
}

/* No state: create and destroy exist because some callers (the unit test harness) call them
 * without checking for NULL. */
static int nop_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)self;
    (void)diag;
    return OCA_OK;
}

static void nop_destroy(struct oca_component *self)
{
    (void)self;
}

const struct oca_component_type oca_nop_exporter = {
    .name = "nop",
    .kind = OCA_EXPORTER,
    .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
    .takes_raw = oca_takes_raw_always,
    .config_size = 0,
    .fields = nop_fields,
    .doc = "Counts the data it receives as sent and drops it.",
    .create = nop_create,
    .consume = nop_consume,
    .shutdown = nop_shutdown,
    .destroy = nop_destroy,
};
