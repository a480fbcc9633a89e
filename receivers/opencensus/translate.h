/* OpenCensus to OTLP, as the Collector's opencensus translator (pkg/translator/opencensus) did it:
 * Node and Resource become resource attributes, spans and metrics become their OTLP twins. Pure
 * functions of their input, allocating in an arena: the OTLP request may point into the OpenCensus
 * one (strings, ids of the right size), so both must live in that arena or outlive the result.
 * Used by receivers/opencensus/ (one call per stream message), its unit tests and fuzz harness. */
#ifndef OCA_RECEIVERS_OPENCENSUS_TRANSLATE_H
#define OCA_RECEIVERS_OPENCENSUS_TRANSLATE_H

#include <stdint.h>

#include "opencensus/proto/agent/metrics/v1/metrics_service.pb-c.h"
#include "opencensus/proto/agent/trace/v1/trace_service.pb-c.h"
#include "pipeline/batch.h"

struct oca_arena;

/* What could not be mapped: items (spans or metric points) left out, and the reason of the first
 * (a static string), so the caller can count them as dropped and log once. */
struct oca_opencensus_drops {
    uint64_t items;
    const char *reason;
};

/* The resource attributes of node and resource (either may be NULL) into r, which it fills. */
void oca_opencensus_resource(const Opencensus__Proto__Agent__Common__V1__Node *node,
                             const Opencensus__Proto__Resource__V1__Resource *resource,
                             Opentelemetry__Proto__Resource__V1__Resource *r, struct oca_arena *a);

/* The spans of req as an OTLP request: spans without their own Resource go in one ResourceSpans
 * whose resource comes from node and resource (the effective ones of the stream: req's own, or
 * those inherited from earlier messages); each span with its own Resource gets its own
 * ResourceSpans (node + that Resource). A request without spans gives an empty request. Never
 * NULL; drops may be NULL. */
oca_traces_req *oca_opencensus_traces(const Opencensus__Proto__Agent__Trace__V1__ExportTraceServiceRequest *req,
                                      const Opencensus__Proto__Agent__Common__V1__Node *node,
                                      const Opencensus__Proto__Resource__V1__Resource *resource,
                                      struct oca_arena *a, struct oca_opencensus_drops *drops);

/* The same for metrics: GAUGE_INT64/DOUBLE -> Gauge, CUMULATIVE_INT64/DOUBLE -> monotonic
 * cumulative Sum, CUMULATIVE_DISTRIBUTION -> cumulative Histogram, SUMMARY -> Summary. Metrics of
 * another type (GAUGE_DISTRIBUTION, UNSPECIFIED) and points whose value does not match the type
 * are left out and counted in drops. */
oca_metrics_req *oca_opencensus_metrics(const Opencensus__Proto__Agent__Metrics__V1__ExportMetricsServiceRequest *req,
                                        const Opencensus__Proto__Agent__Common__V1__Node *node,
                                        const Opencensus__Proto__Resource__V1__Resource *resource,
                                        struct oca_arena *a, struct oca_opencensus_drops *drops);

#endif
