/* The running shape of a config: one instance per used receiver, exporter and extension id, one
 * processor instance per pipeline that lists it, wired receiver -> fan-out to pipelines ->
 * processors in order -> fan-out to exporters. Starts exporters first and receivers last; shuts down
 * in the reverse order, one component at a time, so every stage drains into a stage still running. */
#ifndef OCA_PIPELINE_GRAPH_H
#define OCA_PIPELINE_GRAPH_H

#include <uv.h>

#include "config/collector.h"

struct oca_diag;
struct oca_graph;

/* Creates and wires every used component; cfg must outlive the graph. Returns NULL after adding
 * the reasons to diag when a component's create fails (the ones created are destroyed). */
struct oca_graph *oca_graph_build(const struct oca_collector_config *cfg, struct oca_diag *diag);

/* Starts extensions, exporters, processors, then receivers. On failure returns the error with the
 * failing component's id logged; the caller then shuts the graph down (safe for unstarted parts). */
int oca_graph_start(struct oca_graph *g, uv_loop_t *loop);

/* Shuts down receivers, processors, exporters, then extensions, each after the one before has
 * called its done; done_cb(arg) fires once everything is down. Calling it twice is harmless (the
 * second call's callback is not called). */
void oca_graph_shutdown(struct oca_graph *g, void (*done_cb)(void *arg), void *arg);

/* Frees every component; only after shutdown finished (or when nothing was started). */
void oca_graph_destroy(struct oca_graph *g);

/* For tests and logs: the number of instances and the instance at i in start order. */
size_t oca_graph_size(const struct oca_graph *g);
struct oca_component *oca_graph_component(struct oca_graph *g, size_t i);

#endif
