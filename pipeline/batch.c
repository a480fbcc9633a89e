/* Reference-counted OTLP requests; see batch.h. A batch's message is decoded into its own arena
 * through protobuf-c's allocator hook, so freeing a request of thousands of objects is one
 * oca_arena_destroy(). */
#include "codec/proto_depth.h"
#include "pipeline/batch.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/budget.h"
#include "base/errors.h"
#include "base/mem.h"
#include "codec/otlp_json.h"

const ProtobufCMessageDescriptor *oca_batch_descriptor(enum oca_signal sig)
{
    switch (sig) {
    case OCA_SIGNAL_TRACES:
        return &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor;
    case OCA_SIGNAL_METRICS:
        return &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor;
    case OCA_SIGNAL_LOGS:
        return &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor;
    default:
        return NULL;
    }
}

static struct oca_batch *batch_alloc(enum oca_signal sig, size_t arena_hint)
{
    struct oca_batch *b = oca_xcalloc(1, sizeof(*b));
    b->refs = 1;
    b->signal = sig;
    b->arena = oca_arena_new(arena_hint);
    return b;
}

struct oca_batch *oca_batch_new(enum oca_signal sig)
{
    struct oca_batch *b = batch_alloc(sig, 1024);
    const ProtobufCMessageDescriptor *d = oca_batch_descriptor(sig);
    b->msg = oca_arena_alloc(b->arena, d->sizeof_message);
    d->message_init(b->msg);
    return b;
}

struct oca_batch *oca_batch_new_raw(enum oca_signal sig)
{
    /* Only the client's strings go into the arena. */
    return batch_alloc(sig, 256);
}

void oca_batch_add_raw(struct oca_batch *b, const uint8_t *data, size_t len)
{
    b->raw = oca_xrealloc(b->raw, (b->n_raw + 1) * sizeof(*b->raw));
    b->raw[b->n_raw++] = (struct oca_slice){ data, len };
    b->raw_len += len;
}

static int decode_proto(struct oca_batch *b, const uint8_t *data, size_t len)
{
    ProtobufCAllocator alloc = {
        .alloc = oca_arena_alloc_cb, .free = oca_arena_free_cb, .allocator_data = b->arena,
    };
    if (!oca_proto_depth_ok(oca_batch_descriptor(b->signal), data, len, OCA_PROTO_MAX_DEPTH))
        return OCA_ERR_DECODE;
    b->msg = protobuf_c_message_unpack(oca_batch_descriptor(b->signal), &alloc, len, data);
    return b->msg ? OCA_OK : OCA_ERR_DECODE;
}

int oca_batch_decode(enum oca_signal sig, enum oca_encoding enc, const uint8_t *data, size_t len,
                     struct oca_batch **out, char *detail, size_t detail_size)
{
    /* Decoded protobuf takes roughly 2-4x its wire size; start the arena near that so a typical
     * request fits in a few chunks. */
    struct oca_batch *b = batch_alloc(sig, len * 3 + 256);
    int err;
    *out = NULL;
    if (enc == OCA_ENCODING_JSON) {
        err = oca_otlp_json_decode(oca_batch_descriptor(sig), (const char *)data, len, b->arena,
                                   &b->msg, detail, detail_size);
    } else {
        err = decode_proto(b, data, len);
        if (err && detail_size)
            snprintf(detail, detail_size, "malformed %s request: not a valid protobuf message",
                     oca_signal_name(sig));
    }
    if (err) {
        b->msg = NULL;
        oca_batch_unref(b);
        return err;
    }
    b->items = oca_batch_count_items(sig, b->msg);
    *out = b;
    return OCA_OK;
}

struct oca_batch *oca_batch_ref(struct oca_batch *b)
{
    assert(b->refs > 0);
    b->refs++;
    return b;
}

void oca_batch_unref(struct oca_batch *b)
{
    if (!b)
        return;
    assert(b->refs > 0);
    if (--b->refs > 0)
        return;
    for (size_t i = 0; i < b->n_held; i++)
        oca_batch_unref(b->held[i]);
    free(b->held);
    free(b->raw);
    if (b->raw_free)
        b->raw_free(b->raw_block);
    oca_arena_destroy(b->arena);
    oca_budget_release(b->charged);
    free(b);
}

uint8_t *oca_batch_pack(const struct oca_batch *b, size_t *len)
{
    if (b->n_raw > 0 || !b->msg) {
        uint8_t *buf = oca_xmalloc(b->raw_len ? b->raw_len : 1);
        size_t at = 0;
        for (size_t i = 0; i < b->n_raw; i++) {
            memcpy(buf + at, b->raw[i].data, b->raw[i].len);
            at += b->raw[i].len;
        }
        *len = at;
        return buf;
    }
    size_t n = protobuf_c_message_get_packed_size(b->msg);
    uint8_t *buf = oca_xmalloc(n);
    *len = protobuf_c_message_pack(b->msg, buf);
    return buf;
}

static void copy_client(struct oca_batch *dst, const struct oca_batch_client *c)
{
    dst->client.addr = c->addr ? oca_arena_strdup(dst->arena, c->addr) : NULL;
    if (c->n == 0)
        return;
    dst->client.keys = oca_arena_alloc(dst->arena, c->n * sizeof(char *));
    dst->client.values = oca_arena_alloc(dst->arena, c->n * sizeof(char *));
    for (size_t i = 0; i < c->n; i++) {
        dst->client.keys[i] = oca_arena_strdup(dst->arena, c->keys[i]);
        dst->client.values[i] = oca_arena_strdup(dst->arena, c->values[i]);
    }
    dst->client.n = c->n;
}

struct oca_batch *oca_batch_clone(const struct oca_batch *b)
{
    /* Pack and unpack: the simplest deep copy that is certainly complete, and it leaves the copy
     * in one arena of its own. */
    size_t len;
    uint8_t *wire = oca_batch_pack(b, &len);
    struct oca_batch *copy;
    int err = oca_batch_decode(b->signal, OCA_ENCODING_PROTO, wire, len, &copy, NULL, 0);
    free(wire);
    if (err) {
        fprintf(stderr, "ocagent: a batch failed to decode its own encoding\n");
        abort();
    }
    copy_client(copy, &b->client);
    copy->charged = oca_arena_reserved(copy->arena);
    oca_budget_force(copy->charged);
    return copy;
}

struct oca_batch *oca_batch_decoded(struct oca_batch *b)
{
    return b->msg ? oca_batch_ref(b) : oca_batch_clone(b);
}

void oca_batch_hold(struct oca_batch *dst, struct oca_batch *src)
{
    /* Callers hold an input's items together, so a repeat is the last one held; checking the whole
     * list made a batch of 8192 one-span requests cost 33M comparisons. A repeat further back
     * would only take a reference more, given back with the others. */
    if (dst->n_held && dst->held[dst->n_held - 1] == src)
        return;
    if (dst->n_held == dst->cap_held) {
        dst->cap_held = dst->cap_held ? dst->cap_held * 2 : 4;
        dst->held = oca_xrealloc(dst->held, dst->cap_held * sizeof(*dst->held));
    }
    dst->held[dst->n_held++] = oca_batch_ref(src);
}

/* A level, named by its parent type and field: protobuf-c stores the count as n_<field>. */
#define LEVEL(parent, field, child_descriptor) \
    { offsetof(parent, n_##field), offsetof(parent, field), &child_descriptor }

static const struct oca_otlp_level otlp_levels[OCA_SIGNAL_COUNT][OCA_LEVEL_COUNT] = {
    [OCA_SIGNAL_TRACES] = {
        LEVEL(oca_traces_req, resource_spans, opentelemetry__proto__trace__v1__resource_spans__descriptor),
        LEVEL(Opentelemetry__Proto__Trace__V1__ResourceSpans, scope_spans,
              opentelemetry__proto__trace__v1__scope_spans__descriptor),
        LEVEL(Opentelemetry__Proto__Trace__V1__ScopeSpans, spans, opentelemetry__proto__trace__v1__span__descriptor),
    },
    [OCA_SIGNAL_METRICS] = {
        LEVEL(oca_metrics_req, resource_metrics, opentelemetry__proto__metrics__v1__resource_metrics__descriptor),
        LEVEL(Opentelemetry__Proto__Metrics__V1__ResourceMetrics, scope_metrics,
              opentelemetry__proto__metrics__v1__scope_metrics__descriptor),
        LEVEL(Opentelemetry__Proto__Metrics__V1__ScopeMetrics, metrics,
              opentelemetry__proto__metrics__v1__metric__descriptor),
    },
    [OCA_SIGNAL_LOGS] = {
        LEVEL(oca_logs_req, resource_logs, opentelemetry__proto__logs__v1__resource_logs__descriptor),
        LEVEL(Opentelemetry__Proto__Logs__V1__ResourceLogs, scope_logs,
              opentelemetry__proto__logs__v1__scope_logs__descriptor),
        LEVEL(Opentelemetry__Proto__Logs__V1__ScopeLogs, log_records,
              opentelemetry__proto__logs__v1__log_record__descriptor),
    },
};

const struct oca_otlp_level *oca_batch_levels(enum oca_signal sig)
{
    return (unsigned)sig < OCA_SIGNAL_COUNT ? otlp_levels[sig] : NULL;
}

ProtobufCMessage **oca_batch_entry_head(const struct oca_otlp_level *lv, ProtobufCMessage *entry)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(lv->child, 1);
    return (ProtobufCMessage **)(void *)((char *)entry + f->offset);
}

ProtobufCMessage *oca_batch_metric_data(const Opentelemetry__Proto__Metrics__V1__Metric *m,
                                        struct oca_otlp_level *points)
{
    /* data_case is the field number of the member that is set (0 when none is). */
    const ProtobufCFieldDescriptor *member = protobuf_c_message_descriptor_get_field(
        &opentelemetry__proto__metrics__v1__metric__descriptor, (unsigned)m->data_case);
    if (!member || !(member->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        return NULL;
    ProtobufCMessage *data = *(ProtobufCMessage *const *)(const void *)((const char *)m + member->offset);
    if (!data)
        return NULL;
    const ProtobufCFieldDescriptor *dp = protobuf_c_message_descriptor_get_field(member->descriptor, 1);
    *points = (struct oca_otlp_level){ dp->quantifier_offset, dp->offset, dp->descriptor };
    return data;
}

size_t oca_batch_metric_points(const Opentelemetry__Proto__Metrics__V1__Metric *m)
{
    struct oca_otlp_level points;
    const ProtobufCMessage *data = oca_batch_metric_data(m, &points);
    return data ? oca_batch_child_count(&points, data) : 0;
}

size_t oca_batch_count_items(enum oca_signal sig, const ProtobufCMessage *msg)
{
    const struct oca_otlp_level *lv = oca_batch_levels(sig);
    size_t n = 0;
    if (!lv)
        return 0;
    ProtobufCMessage **res = oca_batch_children(&lv[OCA_LEVEL_RESOURCES], msg);
    for (size_t i = 0; i < oca_batch_child_count(&lv[OCA_LEVEL_RESOURCES], msg); i++) {
        ProtobufCMessage **scopes = oca_batch_children(&lv[OCA_LEVEL_SCOPES], res[i]);
        for (size_t j = 0; j < oca_batch_child_count(&lv[OCA_LEVEL_SCOPES], res[i]); j++) {
            size_t entries = oca_batch_child_count(&lv[OCA_LEVEL_ITEMS], scopes[j]);
            if (sig != OCA_SIGNAL_METRICS) {
                n += entries;
                continue;
            }
            /* A metric counts as its data points. */
            ProtobufCMessage **metrics = oca_batch_children(&lv[OCA_LEVEL_ITEMS], scopes[j]);
            for (size_t k = 0; k < entries; k++)
                n += oca_batch_metric_points((const Opentelemetry__Proto__Metrics__V1__Metric *)metrics[k]);
        }
    }
    return n;
}

size_t oca_batch_resource_count(const struct oca_batch *b)
{
    assert(b->msg);
    const struct oca_otlp_level *lv = oca_batch_levels(b->signal);
    return lv ? oca_batch_child_count(&lv[OCA_LEVEL_RESOURCES], b->msg) : 0;
}
