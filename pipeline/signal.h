/* The three telemetry signals and the names the agent uses for them in config, logs and metrics. */
#ifndef OCA_PIPELINE_SIGNAL_H
#define OCA_PIPELINE_SIGNAL_H

#include <stddef.h>

enum oca_signal { OCA_SIGNAL_TRACES, OCA_SIGNAL_METRICS, OCA_SIGNAL_LOGS, OCA_SIGNAL_COUNT };

#define OCA_TRACES  (1u << OCA_SIGNAL_TRACES)
#define OCA_METRICS (1u << OCA_SIGNAL_METRICS)
#define OCA_LOGS    (1u << OCA_SIGNAL_LOGS)

/* "traces", "metrics", "logs"; parse returns -1 for anything else. */
const char *oca_signal_name(enum oca_signal sig);
int oca_signal_parse(const char *name, size_t len);
/* What one item of the signal is called in the agent's own metrics: "spans", "metric_points",
 * "log_records". */
const char *oca_signal_item_name(enum oca_signal sig);

#endif
