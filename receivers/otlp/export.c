/* The otlp receiver's core, shared by OTLP/HTTP and gRPC (see otlp.h): charges the memory budget,
 * decodes a request into a batch (checking protobuf trace and span ids as the Collector does),
 * hands it to the pipeline, and turns the outcome into what the client gets: an
 * Export*ServiceResponse, or a google.rpc.Status with the HTTP status and gRPC code that
 * base/errors.h gives the error. No other file of the receiver maps errors to statuses. */
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/budget.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "codec/otlp_json.h"
#include "codec/proto_depth.h"
#include "pipeline/counters.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "receivers/otlp/otlp.h"

void oca_otlp_result_set(struct oca_otlp_result *res, int err, const char *fmt, ...)
{
    res->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

/* The batch's client: the peer always, the request headers (without HTTP/2 pseudo-headers) when
 * include_metadata. */
static void set_client(struct oca_batch *b, const struct oca_otlp_from *from)
{
    if (!from)
        return;
    if (from->peer)
        b->client.addr = oca_arena_strdup(b->arena, from->peer);
    if (!from->include_metadata || !from->stream)
        return;
    size_t n = oca_http_stream_header_count(from->stream);
    b->client.keys = oca_arena_alloc(b->arena, (n ? n : 1) * sizeof(char *));
    b->client.values = oca_arena_alloc(b->arena, (n ? n : 1) * sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const struct oca_http_header *h = oca_http_stream_header_at(from->stream, i);
        if (h->name_len > 0 && h->name[0] == ':')
            continue;
        b->client.keys[b->client.n] = oca_arena_strndup(b->arena, h->name, h->name_len);
        b->client.values[b->client.n++] = oca_arena_strndup(b->arena, h->value, h->value_len);
    }
}

static int refuse_budget(struct oca_otlp_result *res, int err, uint64_t need)
{
    if (err == OCA_ERR_TOO_LARGE)
        oca_otlp_result_set(res, err, "request needs %llu bytes to decode, more than the whole memory budget "
                            "(service.memory_budget = %zu bytes)", (unsigned long long)need, oca_budget_limit());
    else
        oca_otlp_result_set(res, err, "memory budget exhausted (%zu of %zu bytes in use); retry later",
                            oca_budget_used(), oca_budget_limit());
    return err;
}

/* Protobuf ids must be 16 (trace) or 8 (span) bytes, or absent, as the Collector's pdata insists
 * when it unmarshals (the JSON decoder checks the hex already). One walk over the descriptors finds
 * every trace_id, span_id and parent_span_id (spans, links, log records, exemplars); it skips the
 * common types (attributes, resources, scopes), which hold no ids, and builds the JSON path of a
 * bad id only when it finds one. */
#define ID_WALK_DEPTH 12

struct id_walk {
    const ProtobufCFieldDescriptor *field[ID_WALK_DEPTH];
    size_t index[ID_WALK_DEPTH];        /* SIZE_MAX for a singular field */
    int depth;
};

static void put_camel(struct oca_buf *out, const char *name)
{
    for (bool up = false; *name; name++) {
        if (*name == '_') {
            up = true;
            continue;
        }
        oca_buf_putc(out, up && *name >= 'a' && *name <= 'z' ? (char)(*name - 'a' + 'A') : *name);
        up = false;
    }
}

static void report_bad_id(const struct id_walk *w, const ProtobufCFieldDescriptor *f, size_t len, size_t want,
                          struct oca_otlp_result *res)
{
    struct oca_buf path = { 0 };
    for (int d = 0; d < w->depth; d++) {
        put_camel(&path, w->field[d]->name);
        if (w->index[d] != SIZE_MAX)
            oca_buf_printf(&path, "[%zu]", w->index[d]);
        oca_buf_putc(&path, '.');
    }
    put_camel(&path, f->name);
    oca_otlp_result_set(res, OCA_ERR_DECODE, "%s: %zu bytes, expected %zu (or none)", path.data, len, want);
    oca_buf_free(&path);
}

static bool ids_ok_in(const ProtobufCMessage *m, struct id_walk *w, struct oca_otlp_result *res);

static bool child_ids_ok(const ProtobufCMessage *child, const ProtobufCFieldDescriptor *f, size_t index,
                         struct id_walk *w, struct oca_otlp_result *res)
{
    if (!child || w->depth == ID_WALK_DEPTH)
        return true;
    w->field[w->depth] = f;
    w->index[w->depth] = index;
    w->depth++;
    bool ok = ids_ok_in(child, w, res);
    w->depth--;
    return ok;
}

/* The common types, compared by address before descending (a name comparison per attribute cost
 * about 3% of a request's decoding). One missing here is only walked for nothing. */
static bool holds_no_ids(const ProtobufCMessageDescriptor *d)
{
    static const ProtobufCMessageDescriptor *const common[] = {
        &opentelemetry__proto__common__v1__key_value__descriptor,
        &opentelemetry__proto__common__v1__any_value__descriptor,
        &opentelemetry__proto__common__v1__array_value__descriptor,
        &opentelemetry__proto__common__v1__key_value_list__descriptor,
        &opentelemetry__proto__common__v1__instrumentation_scope__descriptor,
        &opentelemetry__proto__common__v1__entity_ref__descriptor,
        &opentelemetry__proto__resource__v1__resource__descriptor,
    };
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        if (d == common[i])
            return true;
    return false;
}

static bool ids_ok_in(const ProtobufCMessage *m, struct id_walk *w, struct oca_otlp_result *res)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *at = (const char *)m + f->offset;
        if (f->type == PROTOBUF_C_TYPE_BYTES && f->label != PROTOBUF_C_LABEL_REPEATED) {
            const ProtobufCBinaryData *id = (const ProtobufCBinaryData *)(const void *)at;
            size_t want = id->len ? oca_otlp_id_size(f) : 0;
            if (want && id->len != want) {
                report_bad_id(w, f, id->len, want, res);
                return false;
            }
            continue;
        }
        if (f->type != PROTOBUF_C_TYPE_MESSAGE || holds_no_ids(f->descriptor))
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)(const void *)((const char *)m + f->quantifier_offset);
            if (which != f->id)
                continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(const void *)((const char *)m + f->quantifier_offset);
            ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)(const void *)at;
            for (size_t k = 0; k < n; k++)
                if (!child_ids_ok(items[k], f, k, w, res))
                    return false;
        } else if (!child_ids_ok(*(ProtobufCMessage *const *)(const void *)at, f, SIZE_MAX, w, res)) {
            return false;
        }
    }
    return true;
}

static bool ids_ok(const struct oca_batch *b, struct oca_otlp_result *res)
{
    struct id_walk w = { .depth = 0 };
    return ids_ok_in(b->msg, &w, res);
}

/* The budget meter of a batch's arena while protobuf-c decodes into it (oca_arena_metered): each
 * chunk the arena adds is charged before it is taken, so a request that decodes into more than the
 * budget allows (protobuf can expand many times: an empty sub-message is 2 bytes on the wire and a
 * struct in memory) is stopped while decoding instead of after. A refused charge makes the
 * allocation fail, and protobuf-c then gives up cleanly. The budget is atomic, so this runs on the
 * thread pool as well as on the loop thread. */
struct charging_meter {
    struct oca_batch *b;
    size_t others;              /* budget bytes this request holds besides the arena */
    int err;
};

static bool charge_chunk(void *data, size_t bytes)
{
    struct charging_meter *c = data;
    int err = oca_budget_charge(bytes);
    if (err) {
        size_t limit = oca_budget_limit();
        bool never = err == OCA_ERR_TOO_LARGE || (limit && c->others + c->b->charged + bytes > limit);
        c->err = never ? OCA_ERR_TOO_LARGE : OCA_ERR_MEMORY_LIMIT;
        return false;
    }
    c->b->charged += bytes;
    return true;
}

static size_t others_of(const struct oca_otlp_job *j) { return j->held + j->own + j->estimate; }

int oca_otlp_decode_begin(struct oca_otlp_job *j, const struct oca_otlp_from *from)
{
    struct oca_otlp_result *res = &j->res;
    res->err = OCA_OK;
    res->rejected = 0;
    res->message[0] = '\0';
    j->batch = NULL;
    /* A message that is someone else's buffer (gRPC) is charged while it is decoded. */
    size_t own = j->held ? 0 : j->len;
    size_t limit = oca_budget_limit();
    if (limit && j->held + own > limit)
        return refuse_budget(res, OCA_ERR_TOO_LARGE, j->held + own);
    int err = oca_budget_charge(own);
    if (err)
        return refuse_budget(res, err, j->held + own);
    j->own = own;
    if (j->enc == OCA_ENCODING_JSON) {
        /* The codec allocates from the arena itself, so the arena's likely size (three times the
         * text, see pipeline/batch.c) is charged before decoding and corrected after. */
        size_t estimate = 3 * j->len + 256;
        if (limit && others_of(j) + estimate > limit)
            return refuse_budget(res, OCA_ERR_TOO_LARGE, others_of(j) + estimate);
        err = oca_budget_charge(estimate);
        if (err)
            return refuse_budget(res, err, others_of(j) + estimate);
        j->estimate = estimate;
    }
    j->raw = j->enc == OCA_ENCODING_PROTO && j->self && oca_next_takes_raw(j->self, j->sig);
    struct oca_batch *b = j->raw ? oca_batch_new_raw(j->sig) : oca_batch_new(j->sig);
    size_t first = oca_arena_reserved(b->arena);
    err = oca_budget_charge(first);
    if (err) {
        oca_batch_unref(b);
        return refuse_budget(res, err, others_of(j) + first);
    }
    b->charged = first;
    set_client(b, from);
    /* A few header strings: taken without refusal, like the arena they land in. */
    size_t grew = oca_arena_reserved(b->arena) - first;
    oca_budget_force(grew);
    b->charged += grew;
    j->batch = b;
    return OCA_OK;
}

/* Protobuf: into the batch's arena, charged as it grows (see above). */
static int run_proto(struct oca_otlp_job *j)
{
    struct oca_batch *b = j->batch;
    struct charging_meter c = { b, others_of(j), OCA_OK };
    struct oca_arena_metered meter = { b->arena, charge_chunk, &c };
    ProtobufCAllocator alloc = { .alloc = oca_arena_metered_alloc_cb, .free = oca_arena_free_cb, .allocator_data = &meter };
    if (!oca_proto_depth_ok(oca_batch_descriptor(j->sig), j->data, j->len, OCA_PROTO_MAX_DEPTH)) {
        oca_otlp_result_set(&j->res, OCA_ERR_DECODE, "malformed %s request: messages nested more than %d deep",
                            oca_signal_name(j->sig), OCA_PROTO_MAX_DEPTH);
        return OCA_ERR_DECODE;
    }
    ProtobufCMessage *msg = protobuf_c_message_unpack(oca_batch_descriptor(j->sig), &alloc, j->len, j->data);
    if (!msg) {
        if (c.err)
            return refuse_budget(&j->res, c.err, others_of(j) + b->charged);
        oca_otlp_result_set(&j->res, OCA_ERR_DECODE, "malformed %s request: not a valid protobuf message",
                            oca_signal_name(j->sig));
        return OCA_ERR_DECODE;
    }
    b->msg = msg;
    b->items = oca_batch_count_items(j->sig, msg);
    return ids_ok(b, &j->res) ? OCA_OK : j->res.err;
}

/* Raw: checked and counted; the bytes join the batch on the loop thread (give_back). */
static int run_raw(struct oca_otlp_job *j)
{
    uint64_t items;
    char why[200];
    if (oca_otlp_walk(j->sig, j->data, j->len, &items, why, sizeof(why)) != OCA_OK) {
        oca_otlp_result_set(&j->res, OCA_ERR_DECODE, "malformed %s request: not a valid protobuf message (%s)",
                            oca_signal_name(j->sig), why);
        return OCA_ERR_DECODE;
    }
    j->batch->items = (size_t)items;
    return OCA_OK;
}

/* JSON: the estimate charged in begin becomes the arena's real growth. */
static int run_json(struct oca_otlp_job *j)
{
    struct oca_batch *b = j->batch;
    ProtobufCMessage *msg;
    char detail[sizeof(j->res.message)] = "";
    size_t before = oca_arena_reserved(b->arena);
    int err = oca_otlp_json_decode(oca_batch_descriptor(j->sig), (const char *)j->data, j->len, b->arena, &msg,
                                   detail, sizeof(detail));
    if (err) {
        oca_otlp_result_set(&j->res, err, "%s", detail[0] ? detail : oca_err_message(err));
        return err;
    }
    size_t grew = oca_arena_reserved(b->arena) - before;
    if (grew > j->estimate) {
        err = oca_budget_charge(grew - j->estimate);
        if (err)
            return refuse_budget(&j->res, err, others_of(j) + b->charged + grew);
    } else {
        oca_budget_release(j->estimate - grew);
    }
    j->estimate = 0;
    b->charged += grew;
    b->msg = msg;
    b->items = oca_batch_count_items(j->sig, msg);
    return OCA_OK;
}

int oca_otlp_decode_run(struct oca_otlp_job *j)
{
    int err = j->enc == OCA_ENCODING_JSON ? run_json(j) : j->raw ? run_raw(j) : run_proto(j);
    if (err) {
        oca_batch_unref(j->batch);
        j->batch = NULL;
    }
    return err;
}

static bool refused_for_memory(int err) { return err == OCA_ERR_MEMORY_LIMIT || err == OCA_ERR_TOO_LARGE; }

static void free_block(void *block) { oca_arena_block_free(block); }

/* A checked raw request: its bytes become the batch's, with the budget bytes charged for them.
 * The block that holds them (an HTTP body, a gRPC message taken from the call, the pool's copy)
 * moves to the batch; bytes that are the caller's are copied. */
static void keep_bytes(struct oca_otlp_job *j)
{
    struct oca_batch *b = j->batch;
    if (j->owned) {
        /* The block can be far larger than the request it holds (a gRPC message sits in a buffer
         * of at least 4 KiB; inflated output starts at 4x its input) while the budget is charged
         * for the request: trim it, so that a batch of many small raw requests keeps what it was
         * charged for. glibc gives the tail back to the heap (or unmaps it) without copying. */
        size_t off = (size_t)(j->data - j->owned);
        if (malloc_usable_size(j->owned) > off + j->len + j->len / 4 + 64) {
            uint8_t *fit = realloc(j->owned, off + j->len + 1);
            if (fit) {
                j->owned = fit;
                j->data = fit + off;
            }
        }
        b->raw_block = j->owned;
        b->raw_free = free;
        j->owned = NULL;
    } else if (j->copy) {
        b->raw_block = j->copy;
        b->raw_free = free_block;
        j->copy = NULL;
    } else {
        b->raw_block = oca_xmalloc(j->len ? j->len : 1);
        memcpy(b->raw_block, j->data, j->len);
        b->raw_free = free;
        j->data = b->raw_block;
    }
    oca_batch_add_raw(b, j->data, j->len);
    b->charged += j->own + j->held;
    j->own = j->held = 0;
}

void oca_otlp_decode_give_back(struct oca_otlp_job *j, bool held_too)
{
    /* Refused for memory: its items are still counted as refused, as the Collector counts what its
     * memory_limiter refuses. */
    if (refused_for_memory(j->res.err) && j->data)
        j->refused = oca_otlp_count_items(j->sig, j->enc, j->data, j->len);
    if (j->raw && j->batch && j->res.err == OCA_OK && j->data)
        keep_bytes(j);
    oca_budget_release(j->own + j->estimate + (held_too ? j->held : 0));
    j->own = j->estimate = 0;
    if (held_too)
        j->held = 0;
    free(j->owned);
    oca_arena_block_free(j->copy);
    j->owned = j->copy = NULL;
    j->data = NULL;
}

int oca_otlp_decode(enum oca_signal sig, enum oca_encoding enc, const uint8_t *data, size_t len, size_t held,
                    const struct oca_otlp_from *from, struct oca_batch **out, struct oca_otlp_result *res)
{
    struct oca_otlp_job j = { .sig = sig, .enc = enc, .data = data, .len = len, .held = held };
    int err = oca_otlp_decode_begin(&j, from);
    if (err == OCA_OK)
        err = oca_otlp_decode_run(&j);
    j.data = NULL;
    oca_otlp_decode_give_back(&j, false);
    *out = j.batch;
    *res = j.res;
    return err;
}

void oca_otlp_hand_on(struct oca_otlp_job *j)
{
    struct oca_component *self = j->self;
    struct oca_otlp_result *res = &j->res;
    if (refused_for_memory(res->err)) {
        oca_counters_add(self->counters, OCA_EDGE_REFUSED, j->sig, j->refused);
    } else if (res->err == OCA_OK) {
        int err = oca_next_consume(self, j->sig, j->batch);
        if (err && oca_err_retryable(err))
            oca_otlp_result_set(res, err, "the pipeline refused the data: %s; retry later", oca_err_message(err));
        else if (err)
            /* A permanent refusal means the data is the problem (as the Collector's
             * consumererror.Permanent -> InvalidArgument / 400). */
            oca_otlp_result_set(res, OCA_ERR_INVALID, "the pipeline refused the data: %s", oca_err_message(err));
    }
    oca_batch_unref(j->batch);
    j->batch = NULL;
    if (res->err)
        oca_log_debug(self->id, "%s %s request from %s refused (%s): %s", oca_signal_name(j->sig),
                      j->enc == OCA_ENCODING_JSON ? "JSON" : "protobuf", j->peer[0] ? j->peer : "?",
                      oca_err_name(res->err), res->message);
}

int oca_otlp_http_status(const struct oca_otlp_result *res) { return oca_err_http_status(res->err); }
int oca_otlp_grpc_status(const struct oca_otlp_result *res) { return oca_err_grpc_status(res->err); }
bool oca_otlp_retryable(const struct oca_otlp_result *res) { return oca_err_retryable(res->err); }

static void pack_into(const ProtobufCMessage *m, struct oca_buf *out)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    oca_buf_reserve(out, n);
    out->len += protobuf_c_message_pack(m, (uint8_t *)out->data + out->len);
    out->data[out->len] = '\0';
}

static void put_message(const ProtobufCMessage *m, enum oca_encoding enc, struct oca_buf *out)
{
    if (enc == OCA_ENCODING_JSON)
        oca_otlp_json_encode(m, out);
    else
        pack_into(m, out);
}

void oca_otlp_encode_response(enum oca_signal sig, enum oca_encoding enc, const struct oca_otlp_result *res,
                              struct oca_buf *out)
{
    bool partial = res->rejected > 0 || res->message[0];
    char *msg = (char *)(uintptr_t)res->message;
    switch (sig) {
    case OCA_SIGNAL_TRACES: {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse r;
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__init(&r);
        Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess p;
        opentelemetry__proto__collector__trace__v1__export_trace_partial_success__init(&p);
        p.rejected_spans = res->rejected;
        p.error_message = msg;
        r.partial_success = partial ? &p : NULL;
        put_message(&r.base, enc, out);
        break;
    }
    case OCA_SIGNAL_METRICS: {
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse r;
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__init(&r);
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsPartialSuccess p;
        opentelemetry__proto__collector__metrics__v1__export_metrics_partial_success__init(&p);
        p.rejected_data_points = res->rejected;
        p.error_message = msg;
        r.partial_success = partial ? &p : NULL;
        put_message(&r.base, enc, out);
        break;
    }
    default: {
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse r;
        opentelemetry__proto__collector__logs__v1__export_logs_service_response__init(&r);
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsPartialSuccess p;
        opentelemetry__proto__collector__logs__v1__export_logs_partial_success__init(&p);
        p.rejected_log_records = res->rejected;
        p.error_message = msg;
        r.partial_success = partial ? &p : NULL;
        put_message(&r.base, enc, out);
        break;
    }
    }
}

void oca_otlp_encode_status(const struct oca_otlp_result *res, enum oca_encoding enc, bool retry_info,
                            struct oca_buf *out)
{
    Google__Rpc__Status st;
    google__rpc__status__init(&st);
    st.code = oca_otlp_grpc_status(res);
    st.message = (char *)(uintptr_t)(res->message[0] ? res->message : oca_err_message(res->err));
    Google__Protobuf__Duration delay;
    google__protobuf__duration__init(&delay);
    Google__Rpc__RetryInfo ri;
    google__rpc__retry_info__init(&ri);
    Google__Protobuf__Any any;
    google__protobuf__any__init(&any);
    Google__Protobuf__Any *details[1] = { &any };
    uint8_t ri_wire[32];
    if (retry_info && enc == OCA_ENCODING_PROTO) {
        delay.seconds = OCA_OTLP_RETRY_AFTER_S;
        ri.retry_delay = &delay;
        any.type_url = (char *)(uintptr_t)"type.googleapis.com/google.rpc.RetryInfo";
        any.value.len = google__rpc__retry_info__pack(&ri, ri_wire);
        any.value.data = ri_wire;
        st.n_details = 1;
        st.details = details;
    }
    put_message(&st.base, enc, out);
}
