/* The component interface: every receiver, processor, exporter and extension is one file that
 * exports one `const struct oca_component_type`, listed once in agent/components.c. The graph
 * (pipeline/graph.c) creates an instance per configured id, wires it and drives its lifecycle:
 * create -> start -> shutdown -> destroy. shutdown is safe without start and safe twice. */
#ifndef OCA_PIPELINE_COMPONENT_H
#define OCA_PIPELINE_COMPONENT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "pipeline/signal.h"

struct oca_batch;
struct oca_diag;
struct oca_field;
struct oca_component;
struct oca_counters;

enum oca_kind { OCA_RECEIVER, OCA_PROCESSOR, OCA_EXPORTER, OCA_EXTENSION, OCA_KIND_COUNT };

/* "receivers", "processors", "exporters", "extensions" (the config section) and the singular. */
const char *oca_kind_section(enum oca_kind kind);
const char *oca_kind_name(enum oca_kind kind);

/* Fired once when an asynchronous shutdown has finished (all handles closed, queues drained or
 * given up). */
typedef void (*oca_done_cb)(struct oca_component *self);

/* The done callbacks of shutdown calls not answered yet. A component whose shutdown finishes
 * asynchronously keeps them here, because shutdown may be called again before it has finished and
 * each call is answered by exactly one done. Zero-initialised is empty; the owner frees cbs. */
struct oca_waiters {
    oca_done_cb *cbs;
    size_t n;
};

/* Adds the done of one shutdown call. */
void oca_waiters_add(struct oca_waiters *w, oca_done_cb done);

/* Answers every call added so far: calls each done with self, in order, and leaves w empty. w is
 * emptied before the first call, because a done callback may destroy the component that holds it. */
void oca_waiters_notify(struct oca_waiters *w, struct oca_component *self);

/* Something that takes batches: a component's consume, a fan-out, a fan-in. consume borrows the
 * batch (see pipeline/batch.h for the reference rules) and answers at once: OCA_OK when the data
 * was accepted (passed on or queued), else an OCA_ERR_* whose class says retryable or permanent. */
struct oca_consumer {
    int (*consume)(struct oca_consumer *c, enum oca_signal sig, struct oca_batch *batch);
    bool mutates_data;      /* the callee edits batches in place, so it must get a private one */
    /* The callee, and everything it passes batches on to, takes raw-only batches (msg NULL, see
     * pipeline/batch.h). Set by the graph when it is built; false: it needs decoded structs. */
    bool takes_raw;
};

struct oca_component_type {
    const char *name;                   /* the YAML type: "otlp", "file", "batch" */
    /* A second YAML type that means this one ("otlp_grpc" for the otlp exporter), as the
     * Collector's type aliases; NULL: none. Unique among the names and aliases of its kind. */
    const char *alias;
    enum oca_kind kind;
    unsigned signals;                   /* OCA_TRACES | OCA_METRICS | OCA_LOGS */
    bool mutates_data;                  /* processors that edit batches in place */
    /* Whether an instance with this config can take raw-only batches (msg NULL, only the encoded
     * request: pipeline/batch.h), which lets receivers skip decoding. NULL: it cannot, it needs
     * decoded structs. A processor that answers true passes the property on: the graph gives it
     * raw-only batches only when everything after it takes them too. */
    bool (*takes_raw)(const void *cfg);
    size_t config_size;
    const struct oca_field *fields;     /* decoding, defaults, bounds and docs of the config */
    const char *doc;                    /* one line for `ocagent components` */
    /* Rules across fields, after each field was decoded and bounds-checked. Report through
     * oca_diag_field_error(diag, ...); return OCA_OK or OCA_ERR_CONFIG. NULL: nothing to check. */
    int (*validate)(const void *cfg, struct oca_diag *diag);
    /* Builds self->state from self->config (already valid). Must not listen or open files that a
     * failed start of another component would leave behind: that belongs in start. */
    int (*create)(struct oca_component *self, struct oca_diag *diag);
    int (*start)(struct oca_component *self, uv_loop_t *loop);
    int (*consume)(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch);
    void (*shutdown)(struct oca_component *self, oca_done_cb done);
    void (*destroy)(struct oca_component *self);
};

struct oca_component {
    const struct oca_component_type *type;
    const char *id;                     /* "type[/name]"; processors: "batch (traces/x)" style */
    const void *config;                 /* decoded config, config_size bytes; read-only */
    void *state;                        /* the component's own */
    /* Receivers and processors: where each signal goes next (NULL where not wired). */
    struct oca_consumer *next[OCA_SIGNAL_COUNT];
    /* This instance as a consumer, for whoever feeds it (processors and exporters). */
    struct oca_consumer as_consumer;
    struct oca_counters *counters;      /* the component's edge counts, see pipeline/counters.h */
    uv_loop_t *loop;                    /* set before start */
    void *owner;                        /* the graph's; components leave it alone */
};

/* A takes_raw for types that always take raw-only batches. */
bool oca_takes_raw_always(const void *cfg);

/* Whether every consumer that self's batches of sig reach takes raw-only batches, so a receiver
 * may hand on the encoded request without decoding it (false when nothing is wired). */
bool oca_next_takes_raw(const struct oca_component *self, enum oca_signal sig);

/* Hands a batch to the next consumer of self for sig; OCA_ERR_UNSUPPORTED when none is wired. */
int oca_next_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch);

#endif
