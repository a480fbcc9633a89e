/* A batch: one OTLP Export*ServiceRequest (protobuf-c structs) plus the memory it lives in. It is
 * reference-counted and read-only once handed on.
 * Rules: consume() borrows the batch it is given; a callee that keeps it past the call takes a
 * reference with oca_batch_ref() and drops it with oca_batch_unref(). A batch may hold references to
 * other batches whose structs it points into (oca_batch_hold), which is how the batch processor
 * regroups items without copying them. */
#ifndef OCA_PIPELINE_BATCH_H
#define OCA_PIPELINE_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "pipeline/signal.h"

struct oca_arena;

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest oca_traces_req;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest oca_metrics_req;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest oca_logs_req;

enum oca_encoding { OCA_ENCODING_PROTO, OCA_ENCODING_JSON };

struct oca_batch {
    int refs;
    enum oca_signal signal;
    struct oca_arena *arena;            /* owns msg and everything it points to (unless held) */
    union {
        ProtobufCMessage *msg;
        oca_traces_req *traces;
        oca_metrics_req *metrics;
        oca_logs_req *logs;
    };
    size_t items;                       /* spans, metric data points or log records */
    struct oca_batch **held;            /* batches whose memory msg points into */
    size_t n_held, cap_held;
};

/* The request descriptor of a signal. */
const ProtobufCMessageDescriptor *oca_batch_descriptor(enum oca_signal sig);

/* A new batch holding an empty request of sig, refs = 1. */
struct oca_batch *oca_batch_new(enum oca_signal sig);

/* Decodes len bytes of protobuf or OTLP/JSON into a new batch (refs = 1) and counts its items.
 * Returns OCA_ERR_DECODE or OCA_ERR_JSON on bad input; then *out is NULL and, when detail_size > 0,
 * detail holds a message to log or send back. The input bytes are not kept. */
int oca_batch_decode(enum oca_signal sig, enum oca_encoding enc, const uint8_t *data, size_t len,
                     struct oca_batch **out, char *detail, size_t detail_size);

struct oca_batch *oca_batch_ref(struct oca_batch *b);
void oca_batch_unref(struct oca_batch *b);

/* A deep, private copy (refs = 1) for a consumer that mutates data. */
struct oca_batch *oca_batch_clone(const struct oca_batch *b);

/* Makes dst keep a reference to src, because dst's message points into src's memory. */
void oca_batch_hold(struct oca_batch *dst, struct oca_batch *src);

/* The data points of one metric, whatever its type (0 for a metric without data). */
size_t oca_batch_metric_points(const Opentelemetry__Proto__Metrics__V1__Metric *m);

/* A batch that someone else may see: more than one reference, or pointing into held batches. */
static inline int oca_batch_is_shared(const struct oca_batch *b) { return b->refs > 1 || b->n_held > 0; }

/* Counts the items in a request of sig (spans / data points / log records). */
size_t oca_batch_count_items(enum oca_signal sig, const ProtobufCMessage *msg);

/* The number of top-level resource entries (ResourceSpans, ResourceMetrics or ResourceLogs). */
size_t oca_batch_resource_count(const struct oca_batch *b);

/* Serialises the batch's request as protobuf into a new malloc'd buffer; *len gets its size. */
uint8_t *oca_batch_pack(const struct oca_batch *b, size_t *len);

#endif
