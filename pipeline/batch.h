/* A batch: one OTLP Export*ServiceRequest, as protobuf-c structs, as its protobuf encoding (raw),
 * or both, plus the memory it lives in. It is reference-counted and read-only once handed on.
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
#include "base/buf.h"
#include "pipeline/signal.h"

struct oca_arena;

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest oca_traces_req;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest oca_metrics_req;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest oca_logs_req;

enum oca_encoding { OCA_ENCODING_PROTO, OCA_ENCODING_JSON };

/* Who sent a batch, as the Collector's client.Info: the peer address, and the request's headers
 * (gRPC metadata) when the receiver's include_metadata is on. Set by network receivers; the
 * strings live in the batch's arena. All NULL/0 when unknown. */
struct oca_batch_client {
    const char *addr;                   /* "ip:port" */
    const char **keys;                  /* header names, lower case */
    const char **values;
    size_t n;
};

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
    /* Bytes of the agent's memory budget (base/budget.h) this batch holds; whoever charged them
     * sets it, and oca_batch_unref gives them back when the last reference goes. */
    size_t charged;
    struct oca_batch_client client;
    /* The request's protobuf encoding, when the batch carries it: the concatenation of n_raw
     * segments, raw_len bytes in all, each one or more whole encoded requests (concatenated
     * requests of a signal are one valid request: their resource entries, in order). A batch with
     * raw and msg == NULL is raw-only: the graph hands those only to consumers that declared they
     * take them (takes_raw in component.h) and decodes them for any other (oca_batch_decoded).
     * The bytes live in raw_block (freed with raw_free when the batch goes) or in held batches. */
    struct oca_slice *raw;
    size_t n_raw, raw_len;
    void *raw_block;
    void (*raw_free)(void *block);
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

/* A new raw-only batch of sig (msg NULL, no bytes yet), refs = 1. */
struct oca_batch *oca_batch_new_raw(enum oca_signal sig);

/* Appends len bytes of encoded request to b's raw bytes. They must live as long as b: in
 * b->raw_block, or in a batch b holds (oca_batch_hold). */
void oca_batch_add_raw(struct oca_batch *b, const uint8_t *data, size_t len);

/* b itself (a new reference) when it has decoded structs, else a new batch (refs = 1) decoded
 * from its raw bytes, with the same client, charged to the budget without refusal (the data was
 * accepted already). For consumers that need the structs of a batch that may be raw-only. */
struct oca_batch *oca_batch_decoded(struct oca_batch *b);

struct oca_batch *oca_batch_ref(struct oca_batch *b);
void oca_batch_unref(struct oca_batch *b);

/* A deep, private copy (refs = 1) for a consumer that mutates data, with the same client and
 * always with decoded structs (no raw bytes, which would go stale once the copy is edited). Its
 * memory is charged to the budget (without refusal: the data was accepted already). */
struct oca_batch *oca_batch_clone(const struct oca_batch *b);

/* Makes dst keep a reference to src, because dst's message points into src's memory. Holding the
 * batch held last again takes no second reference. */
void oca_batch_hold(struct oca_batch *dst, struct oca_batch *src);

/* One level of an OTLP request, seen without its struct types. Every request has the same shape:
 *   traces:  ExportTraceServiceRequest.resource_spans -> ResourceSpans.scope_spans -> ScopeSpans.spans
 *   metrics: ExportMetricsServiceRequest.resource_metrics -> ResourceMetrics.scope_metrics
 *            -> ScopeMetrics.metrics (-> a Metric's data points, see oca_batch_metric_data)
 *   logs:    ExportLogsServiceRequest.resource_logs -> ResourceLogs.scope_logs -> ScopeLogs.log_records
 * A level is the repeated message field through which a parent holds its children, which
 * protobuf-c keeps as a size_t count and an array of pointers. Code that walks a request the same
 * way for every signal reads it through these offsets rather than repeating the walk per type. */
struct oca_otlp_level {
    size_t count_offset;                        /* of the parent's n_<field> */
    size_t children_offset;                     /* of the parent's <field>, the pointer array */
    const ProtobufCMessageDescriptor *child;    /* the children's message type */
};

enum { OCA_LEVEL_RESOURCES, OCA_LEVEL_SCOPES, OCA_LEVEL_ITEMS, OCA_LEVEL_COUNT };

/* The OCA_LEVEL_COUNT levels of a request of sig, top down: [OCA_LEVEL_RESOURCES] holds the
 * request's resource entries, [OCA_LEVEL_SCOPES] a resource entry's scope entries and
 * [OCA_LEVEL_ITEMS] a scope entry's spans, metrics or log records. NULL for an unknown signal. The
 * table is constant, so any thread may use it. */
const struct oca_otlp_level *oca_batch_levels(enum oca_signal sig);

/* The number of children parent has at level lv, and their array; parent must be of the level's
 * parent type. set_children makes parent hold the n children of the array given, which it points
 * at rather than copies. */
static inline size_t oca_batch_child_count(const struct oca_otlp_level *lv, const ProtobufCMessage *parent)
{
    return *(const size_t *)(const void *)((const char *)parent + lv->count_offset);
}

static inline ProtobufCMessage **oca_batch_children(const struct oca_otlp_level *lv, const ProtobufCMessage *parent)
{
    return *(ProtobufCMessage **const *)(const void *)((const char *)parent + lv->children_offset);
}

static inline void oca_batch_set_children(const struct oca_otlp_level *lv, ProtobufCMessage *parent,
                                          ProtobufCMessage **children, size_t n)
{
    *(size_t *)(void *)((char *)parent + lv->count_offset) = n;
    *(ProtobufCMessage ***)(void *)((char *)parent + lv->children_offset) = children;
}

/* Where a resource entry keeps its Resource, or a scope entry its InstrumentationScope: field 1
 * (`resource` or `scope`) of ResourceSpans, ScopeSpans and their metrics and logs twins alike.
 * entry is a child at level lv, OCA_LEVEL_RESOURCES or OCA_LEVEL_SCOPES; the field may be NULL. */
ProtobufCMessage **oca_batch_entry_head(const struct oca_otlp_level *lv, ProtobufCMessage *entry);

/* The data message of a metric (its Gauge, Sum, Histogram, ExponentialHistogram or Summary,
 * whichever the data oneof holds), or NULL for a metric without data. *points gets the level of
 * that message's data points: all five keep them in field 1, data_points. */
ProtobufCMessage *oca_batch_metric_data(const Opentelemetry__Proto__Metrics__V1__Metric *m,
                                        struct oca_otlp_level *points);

/* The data points of one metric, whatever its type (0 for a metric without data). */
size_t oca_batch_metric_points(const Opentelemetry__Proto__Metrics__V1__Metric *m);

/* A batch that someone else may see: more than one reference, or pointing into held batches. */
static inline int oca_batch_is_shared(const struct oca_batch *b) { return b->refs > 1 || b->n_held > 0; }

/* Counts the items in a request of sig (spans / data points / log records). */
size_t oca_batch_count_items(enum oca_signal sig, const ProtobufCMessage *msg);

/* The number of top-level resource entries (ResourceSpans, ResourceMetrics or ResourceLogs);
 * b must have decoded structs. */
size_t oca_batch_resource_count(const struct oca_batch *b);

/* Serialises the batch's request as protobuf into a new malloc'd buffer; *len gets its size. A
 * batch with raw bytes gives (a copy of) them, so forwarding never re-encodes. (Exporters write a
 * batch into their request without this copy: oca_push_job_add_batch in exporterhelper/push.h.) */
uint8_t *oca_batch_pack(const struct oca_batch *b, size_t *len);

#endif
