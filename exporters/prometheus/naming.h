/* OTel -> Prometheus names for the prometheus exporter, per OpenTelemetry's Prometheus compatibility
 * spec as the Collector's pkg/translator/prometheus applies it: metric names made of
 * [a-zA-Z0-9_:] with UCUM units as suffixes (s -> _seconds, By -> _bytes, 1 on gauges -> _ratio,
 * "{...}" annotations dropped, "a/b" -> _a_per_b), `_total` on monotonic sums, an optional
 * namespace prefix; label names made of [a-zA-Z0-9_] that do not start with a digit. */
#ifndef OCA_EXPORTERS_PROMETHEUS_NAMING_H
#define OCA_EXPORTERS_PROMETHEUS_NAMING_H

#include <stdbool.h>

/* What the OTel metric is, as far as naming cares. */
enum oca_naming_kind {
    OCA_NAMING_GAUGE,       /* an OTel Gauge: unit "1" becomes _ratio */
    OCA_NAMING_COUNTER,     /* a monotonic Sum: gets _total */
    OCA_NAMING_OTHER,       /* non-monotonic sums, histograms, summaries */
};

/* The Prometheus metric name of an OTel metric, in a new malloc'd string. namespace_ may be NULL or
 * "". With add_suffixes false only the characters are sanitized and the namespace added (as the
 * Collector's add_metric_suffixes: false). Runs of invalid characters become one '_', leading and
 * trailing ones are dropped, and a name that would start with a digit gets a leading '_'. An empty
 * result (a name with no valid character) is returned as "_". */
char *oca_naming_metric(const char *name, const char *unit, enum oca_naming_kind kind,
                        const char *namespace_, bool add_suffixes);

/* The Prometheus label name of an attribute key, in a new malloc'd string: invalid characters to
 * '_', a leading digit gets "key_" before it, a single leading '_' gets "key" before it (keys
 * starting "__" are kept, as the Collector does). NULL for an empty key (such labels are dropped). */
char *oca_naming_label(const char *key);

#endif
