/* The registry of per-component edge counts and its Prometheus text rendering; see counters.h.
 * A component id used by several instances (a processor in two pipelines) shares one block, so
 * each series appears once. */
#include "pipeline/counters.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static struct oca_counters *head;

struct oca_counters *oca_counters_register(enum oca_kind kind, const char *id)
{
    struct oca_counters **tail = &head;
    for (struct oca_counters *c = head; c; c = c->next_in_registry) {
        if (c->kind == kind && strcmp(c->id, id) == 0)
            return c;
        tail = &c->next_in_registry;
    }
    struct oca_counters *c = oca_xcalloc(1, sizeof(*c));
    c->kind = kind;
    c->id = oca_xstrdup(id);
    c->queue_size = c->queue_capacity = -1;
    *tail = c;
    return c;
}

void oca_counters_reset_registry(void)
{
    for (struct oca_counters *c = head, *next; c; c = next) {
        next = c->next_in_registry;
        free(c->id);
        free(c);
    }
    head = NULL;
}

const struct oca_counters *oca_counters_first(void) { return head; }

/* Which edges each kind reports, and the Collector's metric name stem for each. */
struct edge_series {
    enum oca_kind kind;
    enum oca_edge edge;
    const char *stem;
    const char *help;
};

static const struct edge_series series[] = {
    { OCA_RECEIVER, OCA_EDGE_ACCEPTED, "receiver_accepted", "successfully pushed into the pipeline" },
    { OCA_RECEIVER, OCA_EDGE_REFUSED, "receiver_refused", "that could not be pushed into the pipeline" },
    /* ocagent's own: the Collector has no receiver series for items a receiver received but could
     * not represent (an OpenCensus GAUGE_DISTRIBUTION); its otelcol_receiver_failed_* counts
     * consumer errors, which are not these. */
    { OCA_RECEIVER, OCA_EDGE_DROPPED, "receiver_dropped", "received but dropped because they cannot be represented" },
    { OCA_PROCESSOR, OCA_EDGE_ACCEPTED, "processor_accepted",
      "successfully pushed into the next component in the pipeline" },
    { OCA_PROCESSOR, OCA_EDGE_REFUSED, "processor_refused",
      "that were rejected by the next component in the pipeline" },
    { OCA_PROCESSOR, OCA_EDGE_DROPPED, "processor_dropped", "that were dropped" },
    { OCA_EXPORTER, OCA_EDGE_SENT, "exporter_sent", "successfully sent to destination" },
    { OCA_EXPORTER, OCA_EDGE_SEND_FAILED, "exporter_send_failed", "in failed attempts to send to destination" },
    { OCA_EXPORTER, OCA_EDGE_DROPPED, "exporter_dropped", "dropped by the exporter (shutdown)" },
    { OCA_EXPORTER, OCA_EDGE_ENQUEUE_FAILED, "exporter_enqueue_failed",
      "failed to be added to the sending queue" },
};

/* The item names of the HELP text, in words as the Collector writes them. */
static const char *const help_items[OCA_SIGNAL_COUNT] = { "spans", "metric points", "log records" };

/* Label values escape backslash, quote and newline, as the text format requires. */
static void put_label(struct oca_buf *out, const char *name, const char *value)
{
    oca_buf_printf(out, "{%s=\"", name);
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"')
            oca_buf_putc(out, '\\');
        if (*p == '\n')
            oca_buf_puts(out, "\\n");
        else
            oca_buf_putc(out, *p);
    }
    oca_buf_puts(out, "\"}");
}

static void render_series(struct oca_buf *out, const struct edge_series *s, enum oca_signal sig)
{
    const char *item = oca_signal_item_name(sig);
    bool any = false;
    for (const struct oca_counters *c = head; c; c = c->next_in_registry) {
        if (c->kind != s->kind)
            continue;
        if (!any) {
            oca_buf_printf(out, "# HELP otelcol_%s_%s Number of %s %s.\n", s->stem, item, help_items[sig],
                           s->help);
            oca_buf_printf(out, "# TYPE otelcol_%s_%s counter\n", s->stem, item);
            any = true;
        }
        oca_buf_printf(out, "otelcol_%s_%s", s->stem, item);
        put_label(out, oca_kind_name(c->kind), c->id);
        oca_buf_printf(out, " %llu\n", (unsigned long long)c->items[s->edge][sig]);
    }
}

static void render_queue(struct oca_buf *out, const char *name, const char *help, bool capacity)
{
    bool any = false;
    for (const struct oca_counters *c = head; c; c = c->next_in_registry) {
        int64_t v = capacity ? c->queue_capacity : c->queue_size;
        if (c->kind != OCA_EXPORTER || v < 0)
            continue;
        if (!any) {
            oca_buf_printf(out, "# HELP otelcol_%s %s\n# TYPE otelcol_%s gauge\n", name, help, name);
            any = true;
        }
        oca_buf_printf(out, "otelcol_%s", name);
        put_label(out, "exporter", c->id);
        oca_buf_printf(out, " %lld\n", (long long)v);
    }
}

void oca_counters_render(struct oca_buf *out)
{
    for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++)
        for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++)
            render_series(out, &series[i], (enum oca_signal)sig);
    render_queue(out, "exporter_queue_size", "Current size of the retry queue (in batches).", false);
    render_queue(out, "exporter_queue_capacity", "Fixed capacity of the retry queue (in batches).", true);
}
