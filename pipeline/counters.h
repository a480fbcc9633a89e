/* Per-component edge counts: what each receiver accepted or refused, what each exporter sent,
 * failed to send or dropped, what each processor dropped, per signal. They are kept in one
 * registry so the agent's own metrics endpoint can expose them with the Collector's names
 * (otelcol_receiver_accepted_spans{receiver="otlp"} ...). Only the loop thread writes them. */
#ifndef OCA_PIPELINE_COUNTERS_H
#define OCA_PIPELINE_COUNTERS_H

#include <stdint.h>

#include "base/buf.h"
#include "pipeline/component.h"
#include "pipeline/signal.h"

enum oca_edge {
    OCA_EDGE_ACCEPTED,      /* receivers, processors: taken in */
    OCA_EDGE_REFUSED,       /* receivers, processors: refused to the sender */
    OCA_EDGE_SENT,          /* exporters: delivered */
    OCA_EDGE_SEND_FAILED,   /* exporters: given up on after retries, or permanent errors */
    OCA_EDGE_DROPPED,       /* anyone: discarded on purpose (shutdown timeout, sampling, ...) */
    OCA_EDGE_ENQUEUE_FAILED,/* exporters: refused because the sending queue was full */
    OCA_EDGE_COUNT
};

struct oca_counters {
    struct oca_counters *next_in_registry;
    enum oca_kind kind;
    char *id;                                       /* the component id (a copy) */
    uint64_t items[OCA_EDGE_COUNT][OCA_SIGNAL_COUNT];
    int64_t queue_size, queue_capacity;             /* exporters with a queue; -1 when none */
    /* Exporters with a sending queue (exporters/exporterhelper): the batches and items it holds,
     * waiting or being sent (retries included). What is left here when the agent's shutdown timer
     * fires is counted as dropped. */
    uint64_t queued_batches[OCA_SIGNAL_COUNT], queued_items[OCA_SIGNAL_COUNT];
};

/* Registers a new zeroed counter block; it lives until oca_counters_reset_registry(). */
struct oca_counters *oca_counters_register(enum oca_kind kind, const char *id);
void oca_counters_reset_registry(void);
const struct oca_counters *oca_counters_first(void);

static inline void oca_counters_add(struct oca_counters *c, enum oca_edge e, enum oca_signal s,
                                    uint64_t n)
{
    if (c)
        c->items[e][s] += n;
}

/* The Prometheus text exposition (0.0.4) of every registered counter, appended to out. */
void oca_counters_render(struct oca_buf *out);

#endif
