/* Running the agent: load the config, build the graph, start it on a libuv loop, and stop it on
 * SIGINT/SIGTERM (receivers first, draining pipelines and exporter queues within the shutdown
 * timeout). A second signal exits at once. */
#ifndef OCA_AGENT_AGENT_H
#define OCA_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "config/collector.h"

/* Loads and checks the config: decode, validate and create every component (no start). Prints
 * every error to stderr. Returns NULL when the config is invalid. */
struct oca_collector_config *oca_agent_load_config(const struct oca_config_source *sources, size_t n);

/* validate_only: stop after creating the components. Returns the process exit code. */
int oca_agent_run(const struct oca_config_source *sources, size_t n, bool validate_only);

#endif
