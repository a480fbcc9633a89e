/* OTLP traces to Jaeger api_v2 Batches (see translate.h). The order of a span's tags is the
 * Collector's: scope name and version, the span's attributes, span.kind, otel.status_code, error,
 * otel.status_description, w3c.tracestate, then the dropped counts. */
#include "exporters/jaeger/translate.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "codec/anyvalue.h"

#define NS_PER_S 1000000000LL
#define SAMPLED_FLAG 1u     /* W3C trace flags and Jaeger flags alike: bit 0 is "sampled" */

static const uint8_t zero_id[16];

struct tags {
    Jaeger__ApiV2__KeyValue **v;
    size_t n;
};

static Jaeger__ApiV2__KeyValue *add_tag(struct tags *t, struct oca_arena *a, const char *key,
                                        Jaeger__ApiV2__ValueType type)
{
    Jaeger__ApiV2__KeyValue *kv = oca_arena_alloc(a, sizeof(*kv));
    jaeger__api_v2__key_value__init(kv);
    kv->key = (char *)(uintptr_t)key;
    kv->v_type = type;
    t->v[t->n++] = kv;
    return kv;
}

static void add_string_tag(struct tags *t, struct oca_arena *a, const char *key, const char *value)
{
    add_tag(t, a, key, JAEGER__API_V2__VALUE_TYPE__STRING)->v_str = (char *)(uintptr_t)value;
}

/* One attribute as a typed tag: arrays and maps become their JSON text, an unset value an empty
 * string tag. */
static void add_attribute_tag(struct tags *t, struct oca_arena *a, const Opentelemetry__Proto__Common__V1__KeyValue *attr)
{
    const char *key = attr->key ? attr->key : "";
    const Opentelemetry__Proto__Common__V1__AnyValue *v = attr->value;
    Jaeger__ApiV2__KeyValue *kv;
    switch (v ? v->value_case : OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        add_string_tag(t, a, key, v->string_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        add_tag(t, a, key, JAEGER__API_V2__VALUE_TYPE__BOOL)->v_bool = v->bool_value;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        add_tag(t, a, key, JAEGER__API_V2__VALUE_TYPE__INT64)->v_int64 = v->int_value;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        add_tag(t, a, key, JAEGER__API_V2__VALUE_TYPE__FLOAT64)->v_float64 = v->double_value;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        add_tag(t, a, key, JAEGER__API_V2__VALUE_TYPE__BINARY)->v_binary = v->bytes_value;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        struct oca_buf json = { 0 };
        oca_anyvalue_append_string(&json, v);
        kv = add_tag(t, a, key, JAEGER__API_V2__VALUE_TYPE__STRING);
        kv->v_str = oca_arena_strndup(a, json.data ? json.data : "", json.len);
        oca_buf_free(&json);
        break;
    }
    default:
        add_tag(t, a, key, JAEGER__API_V2__VALUE_TYPE__STRING);
        break;
    }
}

static const Opentelemetry__Proto__Common__V1__KeyValue *find_attr(Opentelemetry__Proto__Common__V1__KeyValue *const *attrs,
                                                                  size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (attrs[i] && attrs[i]->key && strcmp(attrs[i]->key, key) == 0)
            return attrs[i];
    return NULL;
}

/* pcommon's Value.Str(): the string of a string value, else "". */
static const char *str_of(const Opentelemetry__Proto__Common__V1__KeyValue *kv)
{
    if (kv && kv->value && kv->value->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
        return kv->value->string_value;
    return "";
}

static Jaeger__ApiV2__Process *make_process(const Opentelemetry__Proto__Resource__V1__Resource *r, struct oca_arena *a)
{
    Jaeger__ApiV2__Process *p = oca_arena_alloc(a, sizeof(*p));
    jaeger__api_v2__process__init(p);
    size_t n = r ? r->n_attributes : 0;
    if (n == 0) {
        p->service_name = (char *)(uintptr_t)OCA_JAEGER_NO_SERVICE_NAME;
        return p;
    }
    const Opentelemetry__Proto__Common__V1__KeyValue *svc = find_attr(r->attributes, n, "service.name");
    if (svc)
        p->service_name = (char *)(uintptr_t)str_of(svc);
    struct tags t = { oca_arena_alloc(a, n * sizeof(*t.v)), 0 };
    for (size_t i = 0; i < n; i++)
        if (r->attributes[i] && (!r->attributes[i]->key || strcmp(r->attributes[i]->key, "service.name") != 0))
            add_attribute_tag(&t, a, r->attributes[i]);
    p->tags = t.v;
    p->n_tags = t.n;
    return p;
}

static ProtobufCBinaryData id_bytes(const ProtobufCBinaryData *id, size_t size)
{
    if (id->len == size)
        return *id;
    return (ProtobufCBinaryData){ size, (uint8_t *)(uintptr_t)zero_id };
}

static bool id_is_zero(const ProtobufCBinaryData *id)
{
    return id->len == 0 || memcmp(id->data, zero_id, id->len < sizeof(zero_id) ? id->len : sizeof(zero_id)) == 0;
}

static Google__Protobuf__Timestamp *make_timestamp(uint64_t unix_ns, struct oca_arena *a)
{
    /* Go reads the uint64 as a signed count of nanoseconds. */
    int64_t ns = (int64_t)unix_ns;
    Google__Protobuf__Timestamp *ts = oca_arena_alloc(a, sizeof(*ts));
    google__protobuf__timestamp__init(ts);
    ts->seconds = ns / NS_PER_S;
    ts->nanos = (int32_t)(ns % NS_PER_S);
    if (ts->nanos < 0) {
        ts->seconds--;
        ts->nanos += (int32_t)NS_PER_S;
    }
    return ts;
}

/* end - start as Go's time.Time.Sub: saturated at the int64 range, seconds and nanos of one sign. */
static Google__Protobuf__Duration *make_duration(uint64_t start, uint64_t end, struct oca_arena *a)
{
    int64_t d;
    if (__builtin_sub_overflow((int64_t)end, (int64_t)start, &d))
        d = (int64_t)end < (int64_t)start ? INT64_MIN : INT64_MAX;
    Google__Protobuf__Duration *du = oca_arena_alloc(a, sizeof(*du));
    google__protobuf__duration__init(du);
    du->seconds = d / NS_PER_S;
    du->nanos = (int32_t)(d % NS_PER_S);
    return du;
}

static Jaeger__ApiV2__SpanRef *make_ref(ProtobufCBinaryData trace_id, ProtobufCBinaryData span_id,
                                        Jaeger__ApiV2__SpanRefType type, struct oca_arena *a)
{
    Jaeger__ApiV2__SpanRef *ref = oca_arena_alloc(a, sizeof(*ref));
    jaeger__api_v2__span_ref__init(ref);
    ref->trace_id = trace_id;
    ref->span_id = span_id;
    ref->ref_type = type;
    return ref;
}

/* The parent as CHILD_OF first, then one reference per link: FOLLOWS_FROM unless the link's
 * opentracing.ref_type says child_of. A link to the parent itself only sets the parent's type. */
static void add_references(Jaeger__ApiV2__Span *js, const Opentelemetry__Proto__Trace__V1__Span *s, struct oca_arena *a)
{
    bool has_parent = s->parent_span_id.len == 8 && !id_is_zero(&s->parent_span_id);
    size_t cap = s->n_links + has_parent;
    if (cap == 0)
        return;
    js->references = oca_arena_alloc(a, cap * sizeof(*js->references));
    if (has_parent)
        js->references[js->n_references++] = make_ref(js->trace_id, s->parent_span_id, JAEGER__API_V2__SPAN_REF_TYPE__CHILD_OF, a);
    for (size_t i = 0; i < s->n_links; i++) {
        const Opentelemetry__Proto__Trace__V1__Span__Link *l = s->links[i];
        if (!l)
            continue;
        const Opentelemetry__Proto__Common__V1__KeyValue *rt = find_attr(l->attributes, l->n_attributes, "opentracing.ref_type");
        Jaeger__ApiV2__SpanRefType type = rt && strcmp(str_of(rt), "child_of") == 0 ? JAEGER__API_V2__SPAN_REF_TYPE__CHILD_OF
                                                                                   : JAEGER__API_V2__SPAN_REF_TYPE__FOLLOWS_FROM;
        ProtobufCBinaryData tid = id_bytes(&l->trace_id, 16), sid = id_bytes(&l->span_id, 8);
        if (has_parent && memcmp(tid.data, js->trace_id.data, 16) == 0 && memcmp(sid.data, s->parent_span_id.data, 8) == 0) {
            js->references[0]->ref_type = type;
            continue;
        }
        js->references[js->n_references++] = make_ref(tid, sid, type, a);
    }
}

static const char *kind_name(Opentelemetry__Proto__Trace__V1__Span__SpanKind kind)
{
    switch (kind) {
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT: return "client";
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER: return "server";
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_PRODUCER: return "producer";
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CONSUMER: return "consumer";
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL: return "internal";
    default: return NULL;
    }
}

static void add_count_tag(struct tags *t, struct oca_arena *a, const char *key, uint32_t count)
{
    if (count > 0)
        add_tag(t, a, key, JAEGER__API_V2__VALUE_TYPE__INT64)->v_int64 = count;
}

static void add_span_tags(Jaeger__ApiV2__Span *js, const Opentelemetry__Proto__Trace__V1__Span *s,
                          const Opentelemetry__Proto__Common__V1__InstrumentationScope *scope, struct oca_arena *a)
{
    /* Scope name and version, kind, status code, error, status message, tracestate, 3 counts. */
    struct tags t = { oca_arena_alloc(a, (s->n_attributes + 10) * sizeof(*t.v)), 0 };
    if (scope && scope->name && scope->name[0])
        add_string_tag(&t, a, "otel.scope.name", scope->name);
    if (scope && scope->version && scope->version[0])
        add_string_tag(&t, a, "otel.scope.version", scope->version);
    for (size_t i = 0; i < s->n_attributes; i++)
        if (s->attributes[i])
            add_attribute_tag(&t, a, s->attributes[i]);
    const char *kind = kind_name(s->kind);
    if (kind)
        add_string_tag(&t, a, "span.kind", kind);
    const Opentelemetry__Proto__Trace__V1__Status *st = s->status;
    if (st && st->code == OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK)
        add_string_tag(&t, a, "otel.status_code", "OK");
    if (st && st->code == OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR) {
        add_string_tag(&t, a, "otel.status_code", "ERROR");
        add_tag(&t, a, "error", JAEGER__API_V2__VALUE_TYPE__BOOL)->v_bool = 1;
    }
    if (st && st->message && st->message[0])
        add_string_tag(&t, a, "otel.status_description", st->message);
    if (s->trace_state && s->trace_state[0])
        add_string_tag(&t, a, "w3c.tracestate", s->trace_state);
    add_count_tag(&t, a, "otel.dropped_attributes_count", s->dropped_attributes_count);
    add_count_tag(&t, a, "otel.dropped_events_count", s->dropped_events_count);
    add_count_tag(&t, a, "otel.dropped_links_count", s->dropped_links_count);
    js->tags = t.v;
    js->n_tags = t.n;
}

/* Events as logs: the event's name as an "event" field first, unless an attribute named "event"
 * is there to take its place, then the attributes. */
static void add_logs(Jaeger__ApiV2__Span *js, const Opentelemetry__Proto__Trace__V1__Span *s, struct oca_arena *a)
{
    if (s->n_events == 0)
        return;
    js->logs = oca_arena_alloc(a, s->n_events * sizeof(*js->logs));
    for (size_t i = 0; i < s->n_events; i++) {
        const Opentelemetry__Proto__Trace__V1__Span__Event *e = s->events[i];
        if (!e)
            continue;
        Jaeger__ApiV2__Log *log = oca_arena_alloc(a, sizeof(*log));
        jaeger__api_v2__log__init(log);
        log->timestamp = make_timestamp(e->time_unix_nano, a);
        struct tags t = { oca_arena_alloc(a, (e->n_attributes + 1) * sizeof(*t.v)), 0 };
        if (e->name && e->name[0] && !find_attr(e->attributes, e->n_attributes, "event"))
            add_string_tag(&t, a, "event", e->name);
        for (size_t j = 0; j < e->n_attributes; j++)
            if (e->attributes[j])
                add_attribute_tag(&t, a, e->attributes[j]);
        log->fields = t.v;
        log->n_fields = t.n;
        js->logs[js->n_logs++] = log;
    }
}

static Jaeger__ApiV2__Span *make_span(const Opentelemetry__Proto__Trace__V1__Span *s,
                                      const Opentelemetry__Proto__Common__V1__InstrumentationScope *scope,
                                      struct oca_arena *a)
{
    Jaeger__ApiV2__Span *js = oca_arena_alloc(a, sizeof(*js));
    jaeger__api_v2__span__init(js);
    js->trace_id = id_bytes(&s->trace_id, 16);
    js->span_id = id_bytes(&s->span_id, 8);
    js->operation_name = s->name;
    js->flags = s->flags & SAMPLED_FLAG;
    js->start_time = make_timestamp(s->start_time_unix_nano, a);
    js->duration = make_duration(s->start_time_unix_nano, s->end_time_unix_nano, a);
    add_references(js, s, a);
    add_span_tags(js, s, scope, a);
    add_logs(js, s, a);
    return js;
}

static Jaeger__ApiV2__Batch *make_batch(const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs, struct oca_arena *a)
{
    size_t n_attrs = rs->resource ? rs->resource->n_attributes : 0;
    if (n_attrs == 0 && rs->n_scope_spans == 0)
        return NULL;
    Jaeger__ApiV2__Batch *b = oca_arena_alloc(a, sizeof(*b));
    jaeger__api_v2__batch__init(b);
    b->process = make_process(rs->resource, a);
    size_t n = 0;
    for (size_t i = 0; i < rs->n_scope_spans; i++)
        n += rs->scope_spans[i] ? rs->scope_spans[i]->n_spans : 0;
    if (n == 0)
        return b;
    b->spans = oca_arena_alloc(a, n * sizeof(*b->spans));
    for (size_t i = 0; i < rs->n_scope_spans; i++) {
        const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[i];
        for (size_t j = 0; ss && j < ss->n_spans; j++)
            if (ss->spans[j])
                b->spans[b->n_spans++] = make_span(ss->spans[j], ss->scope, a);
    }
    return b;
}

size_t oca_jaeger_translate(const oca_traces_req *req, struct oca_arena *a, Jaeger__ApiV2__Batch ***out)
{
    size_t n = 0;
    *out = NULL;
    if (!req || req->n_resource_spans == 0)
        return 0;
    *out = oca_arena_alloc(a, req->n_resource_spans * sizeof(**out));
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        Jaeger__ApiV2__Batch *b = req->resource_spans[i] ? make_batch(req->resource_spans[i], a) : NULL;
        if (b)
            (*out)[n++] = b;
    }
    return n;
}
