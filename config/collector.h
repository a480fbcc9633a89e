/* The OpenTelemetry Collector config format: receivers, processors, exporters, extensions and
 * service (extensions, pipelines, telemetry). Loads one or more YAML files (later ones deep-merged
 * over earlier ones), decodes every component's section against its type's field table, and checks
 * the references between them. The result is plain data the graph is built from. */
#ifndef OCA_CONFIG_COLLECTOR_H
#define OCA_CONFIG_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/fields.h"
#include "pipeline/component.h"

struct oca_arena;
struct oca_diag;
struct oca_ynode;

struct oca_component_config {
    const char *id;                         /* "type[/name]" as written */
    const struct oca_component_type *type;
    void *config;                           /* type->config_size bytes, decoded and validated */
    const struct oca_ynode *node;           /* where it was written, for messages */
    bool used;                              /* named by a pipeline (or service.extensions) */
};

struct oca_pipeline_config {
    const char *id;                         /* "traces" or "traces/name" */
    enum oca_signal signal;
    const char **receivers, **processors, **exporters;  /* component ids, processors in order */
    size_t n_receivers, n_processors, n_exporters;
    const struct oca_ynode *node;
};

struct oca_collector_config {
    struct oca_arena *arena;                /* owns everything below */
    struct oca_component_config *components[OCA_KIND_COUNT];
    size_t n_components[OCA_KIND_COUNT];
    const char **service_extensions;
    size_t n_service_extensions;
    struct oca_pipeline_config *pipelines;
    size_t n_pipelines;
    /* service.telemetry */
    int log_level;                          /* enum oca_log_level */
    struct oca_endpoint metrics_address;    /* service.telemetry.metrics.address */
    bool metrics_enabled;                   /* false when metrics.level is none */
    /* ocagent's own: service.shutdown_timeout, the bound on draining at exit */
    int64_t shutdown_timeout_ns;
    /* ocagent's own: service.memory_budget, bytes for received data (see base/budget.h) */
    uint64_t memory_budget;
};

/* A text to load, with the name messages use for it. */
struct oca_config_source {
    const char *name;
    const char *text;
    size_t len;
};

/* Parses, merges, decodes and validates. types is the NULL-terminated registry of component types.
 * Returns the config, or NULL after adding every error found to diag. */
struct oca_collector_config *oca_collector_config_load(const struct oca_config_source *sources,
                                                       size_t n_sources,
                                                       const struct oca_component_type *const *types,
                                                       struct oca_diag *diag);
void oca_collector_config_free(struct oca_collector_config *cfg);

/* The component config of kind with this id, or NULL. */
const struct oca_component_config *oca_collector_config_find(const struct oca_collector_config *cfg,
                                                            enum oca_kind kind, const char *id);

#endif
