/* OpenCensus requests to OTLP (see translate.h), with the Collector's attribute names: service.name,
 * host.name, process.pid, telemetry.sdk.*, opencensus.starttime, opencensus.exporterversion,
 * opencensus.resourcetype, opencensus.same_process_as_parent_span, message.type and messaging.*.
 * Everything is allocated in the caller's arena; strings are shared with the input. */
#include "receivers/opencensus/translate.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue otel_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue otel_any;
typedef Opentelemetry__Proto__Resource__V1__Resource otel_resource;
typedef Opentelemetry__Proto__Trace__V1__Span otel_span;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans otel_rspans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans otel_sspans;
typedef Opentelemetry__Proto__Metrics__V1__Metric otel_metric;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics otel_rmetrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics otel_smetrics;
typedef Opencensus__Proto__Agent__Common__V1__Node oc_node;
typedef Opencensus__Proto__Resource__V1__Resource oc_resource;
typedef Opencensus__Proto__Trace__V1__Span oc_span;
typedef Opencensus__Proto__Trace__V1__Span__Attributes oc_attrs;
typedef Opencensus__Proto__Metrics__V1__Metric oc_metric;

#define NEW(a, T, init) ((T *)init_msg(oca_arena_alloc((a), sizeof(T)), &(init)))

static void *init_msg(void *p, const ProtobufCMessageDescriptor *d)
{
    d->message_init(p);
    return p;
}

static char *const empty = (char *)(uintptr_t)"";

/* A growing list of attributes; upsert replaces a key that is there already (Collector's PutStr). */
struct kvs {
    otel_kv **v;
    size_t n, cap;
};

static otel_any *any_new(struct oca_arena *a)
{
    return NEW(a, otel_any, opentelemetry__proto__common__v1__any_value__descriptor);
}

static void kvs_add(struct kvs *l, struct oca_arena *a, const char *key, otel_any *v, bool upsert)
{
    if (upsert)
        for (size_t i = 0; i < l->n; i++)
            if (strcmp(l->v[i]->key, key) == 0) {
                l->v[i]->value = v;
                return;
            }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        otel_kv **nv = oca_arena_alloc(a, cap * sizeof(*nv));
        if (l->n)
            memcpy(nv, l->v, l->n * sizeof(*nv));
        l->v = nv;
        l->cap = cap;
    }
    otel_kv *kv = NEW(a, otel_kv, opentelemetry__proto__common__v1__key_value__descriptor);
    kv->key = (char *)(uintptr_t)(key ? key : "");
    kv->value = v;
    l->v[l->n++] = kv;
}

static void put_str(struct kvs *l, struct oca_arena *a, const char *key, const char *s, bool upsert)
{
    otel_any *v = any_new(a);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = (char *)(uintptr_t)(s ? s : "");
    kvs_add(l, a, key, v, upsert);
}

static void put_int(struct kvs *l, struct oca_arena *a, const char *key, int64_t i, bool upsert)
{
    otel_any *v = any_new(a);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v->int_value = i;
    kvs_add(l, a, key, v, upsert);
}

static void put_bool(struct kvs *l, struct oca_arena *a, const char *key, bool b)
{
    otel_any *v = any_new(a);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    v->bool_value = b;
    kvs_add(l, a, key, v, true);
}

static uint64_t ts_nanos(const Google__Protobuf__Timestamp *t)
{
    if (!t || t->seconds < 0 || t->nanos < 0)
        return 0;
    if ((uint64_t)t->seconds > UINT64_MAX / 1000000000u - 1)
        return UINT64_MAX;
    return (uint64_t)t->seconds * 1000000000u + (uint64_t)t->nanos;
}

/* Go's time.RFC3339Nano of a UTC time: fraction without trailing zeros, "Z". */
static char *rfc3339nano(struct oca_arena *a, const Google__Protobuf__Timestamp *t)
{
    time_t secs = (time_t)t->seconds;
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&secs, &tm))
        return oca_arena_printf(a, "%" PRId64 "s", t->seconds);
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    int32_t ns = t->nanos;
    if (ns > 0 && ns < 1000000000) {
        char frac[16];
        snprintf(frac, sizeof(frac), ".%09d", (int)ns);
        size_t f = strlen(frac);
        while (frac[f - 1] == '0')
            frac[--f] = '\0';
        snprintf(buf + n, sizeof(buf) - n, "%s", frac);
        n += f;
    }
    snprintf(buf + n, sizeof(buf) - n, "Z");
    return oca_arena_strdup(a, buf);
}

static const char *const languages[] = {
    NULL, "cpp", "dotnet", "erlang", "go", "java", "nodejs", "php", "python", "ruby", "webjs",
};

void oca_opencensus_resource(const oc_node *node, const oc_resource *resource, otel_resource *r,
                             struct oca_arena *a)
{
    struct kvs l = { 0 };
    /* Labels and node attributes first; the special fields then overwrite, as the Collector. */
    if (resource)
        for (size_t i = 0; i < resource->n_labels; i++) {
            const char *k = resource->labels[i]->key;
            put_str(&l, a, strcmp(k ? k : "", "cloud.zone") == 0 ? "cloud.availability_zone" : k,
                    resource->labels[i]->value, true);
        }
    if (node) {
        for (size_t i = 0; i < node->n_attributes; i++)
            put_str(&l, a, node->attributes[i]->key, node->attributes[i]->value, true);
        if (node->service_info && node->service_info->name && node->service_info->name[0])
            put_str(&l, a, "service.name", node->service_info->name, true);
        const Opencensus__Proto__Agent__Common__V1__ProcessIdentifier *id = node->identifier;
        if (id) {
            if (id->start_timestamp)
                put_str(&l, a, "opencensus.starttime", rfc3339nano(a, id->start_timestamp), true);
            if (id->host_name && id->host_name[0])
                put_str(&l, a, "host.name", id->host_name, true);
            if (id->pid)
                put_int(&l, a, "process.pid", id->pid, true);
        }
        const Opencensus__Proto__Agent__Common__V1__LibraryInfo *lib = node->library_info;
        if (lib) {
            if (lib->core_library_version && lib->core_library_version[0])
                put_str(&l, a, "telemetry.sdk.version", lib->core_library_version, true);
            if (lib->exporter_version && lib->exporter_version[0])
                put_str(&l, a, "opencensus.exporterversion", lib->exporter_version, true);
            if (lib->language > 0 && (size_t)lib->language < sizeof(languages) / sizeof(languages[0]))
                put_str(&l, a, "telemetry.sdk.language", languages[lib->language], true);
        }
    }
    if (resource && resource->type && resource->type[0])
        put_str(&l, a, "opencensus.resourcetype", resource->type, true);
    r->attributes = l.v;
    r->n_attributes = l.n;
}

/* Ids: padded with zeros or truncated to the OTLP size, as the Collector's copy into [16]byte. An
 * id of all zeros stays empty (invalid, as OTLP writes it). */
static ProtobufCBinaryData fix_id(struct oca_arena *a, ProtobufCBinaryData in, size_t size)
{
    ProtobufCBinaryData out = { 0, NULL };
    if (in.len == size)
        return in;
    if (in.len == 0)
        return out;
    uint8_t *p = oca_arena_zalloc(a, size);
    memcpy(p, in.data, in.len < size ? in.len : size);
    out.data = p;
    out.len = size;
    return out;
}

static char *tracestate(struct oca_arena *a, const Opencensus__Proto__Trace__V1__Span__Tracestate *ts)
{
    if (!ts || ts->n_entries == 0)
        return empty;
    size_t n = 0;
    for (size_t i = 0; i < ts->n_entries; i++)
        n += strlen(ts->entries[i]->key) + strlen(ts->entries[i]->value) + 2;
    char *s = oca_arena_alloc(a, n + 1), *p = s;
    for (size_t i = 0; i < ts->n_entries; i++) {
        if (i)
            *p++ = ',';
        size_t k = strlen(ts->entries[i]->key), v = strlen(ts->entries[i]->value);
        memcpy(p, ts->entries[i]->key, k);
        p += k;
        *p++ = '=';
        memcpy(p, ts->entries[i]->value, v);
        p += v;
    }
    *p = '\0';
    return s;
}

static const char *truncatable(const Opencensus__Proto__Trace__V1__TruncatableString *t)
{
    return t && t->value ? t->value : "";
}

/* Typed attributes; skip names one key already used for something else (span.kind, otel.status_code). */
static void attrs(struct kvs *l, struct oca_arena *a, const oc_attrs *in, const char *skip1, const char *skip2)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->n_attribute_map; i++) {
        const char *k = in->attribute_map[i]->key ? in->attribute_map[i]->key : "";
        const Opencensus__Proto__Trace__V1__AttributeValue *v = in->attribute_map[i]->value;
        if ((skip1 && strcmp(k, skip1) == 0) || (skip2 && strcmp(k, skip2) == 0))
            continue;
        otel_any *o = any_new(a);
        switch (v ? v->value_case : 0) {
        case OPENCENSUS__PROTO__TRACE__V1__ATTRIBUTE_VALUE__VALUE_STRING_VALUE:
            o->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
            o->string_value = (char *)(uintptr_t)truncatable(v->string_value);
            break;
        case OPENCENSUS__PROTO__TRACE__V1__ATTRIBUTE_VALUE__VALUE_INT_VALUE:
            o->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
            o->int_value = v->int_value;
            break;
        case OPENCENSUS__PROTO__TRACE__V1__ATTRIBUTE_VALUE__VALUE_BOOL_VALUE:
            o->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
            o->bool_value = v->bool_value;
            break;
        case OPENCENSUS__PROTO__TRACE__V1__ATTRIBUTE_VALUE__VALUE_DOUBLE_VALUE:
            o->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
            o->double_value = v->double_value;
            break;
        default:
            o->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
            o->string_value = (char *)(uintptr_t)"<Unknown OpenCensus attribute value type>";
        }
        /* A map on the wire: a repeated key takes the last value, as protobuf map semantics. */
        kvs_add(l, a, k, o, false);
    }
}

static uint32_t dropped_attrs(const oc_attrs *in)
{
    return in && in->dropped_attributes_count > 0 ? (uint32_t)in->dropped_attributes_count : 0;
}

static const Opencensus__Proto__Trace__V1__AttributeValue *find_attr(const oc_attrs *in, const char *key)
{
    if (!in)
        return NULL;
    for (size_t i = in->n_attribute_map; i-- > 0;)
        if (in->attribute_map[i]->key && strcmp(in->attribute_map[i]->key, key) == 0)
            return in->attribute_map[i]->value;
    return NULL;
}

/* OpenCensus knows SERVER and CLIENT; other kinds travel as a "span.kind" attribute (OpenTracing
 * names), which then becomes the kind and is not kept as an attribute. */
static int span_kind(const oc_span *s, bool *used_attr)
{
    *used_attr = false;
    if (s->kind == OPENCENSUS__PROTO__TRACE__V1__SPAN__SPAN_KIND__SERVER)
        return OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    if (s->kind == OPENCENSUS__PROTO__TRACE__V1__SPAN__SPAN_KIND__CLIENT)
        return OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
    if (s->kind != OPENCENSUS__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_UNSPECIFIED)
        return OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_UNSPECIFIED;
    const Opencensus__Proto__Trace__V1__AttributeValue *v = find_attr(s->attributes, "span.kind");
    if (!v || v->value_case != OPENCENSUS__PROTO__TRACE__V1__ATTRIBUTE_VALUE__VALUE_STRING_VALUE)
        return OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_UNSPECIFIED;
    static const struct { const char *name; int kind; } kinds[] = {
        { "server", OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER },
        { "client", OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT },
        { "producer", OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_PRODUCER },
        { "consumer", OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CONSUMER },
        { "internal", OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL },
    };
    const char *name = truncatable(v->string_value);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(name, kinds[i].name) == 0) {
            *used_attr = true;
            return kinds[i].kind;
        }
    return OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_UNSPECIFIED;
}

static const char *message_type_name(int t)
{
    switch (t) {
    case OPENCENSUS__PROTO__TRACE__V1__SPAN__TIME_EVENT__MESSAGE_EVENT__TYPE__SENT: return "SENT";
    case OPENCENSUS__PROTO__TRACE__V1__SPAN__TIME_EVENT__MESSAGE_EVENT__TYPE__RECEIVED: return "RECEIVED";
    case 0: return "TYPE_UNSPECIFIED";
    default: return "UNKNOWN";
    }
}

static void events(otel_span *d, const Opencensus__Proto__Trace__V1__Span__TimeEvents *te, struct oca_arena *a)
{
    if (!te)
        return;
    int64_t dropped = (int64_t)te->dropped_annotations_count + te->dropped_message_events_count;
    d->dropped_events_count = dropped > 0 ? (uint32_t)dropped : 0;
    d->events = oca_arena_alloc(a, (te->n_time_event ? te->n_time_event : 1) * sizeof(*d->events));
    for (size_t i = 0; i < te->n_time_event; i++) {
        const Opencensus__Proto__Trace__V1__Span__TimeEvent *e = te->time_event[i];
        Opentelemetry__Proto__Trace__V1__Span__Event *o =
            NEW(a, Opentelemetry__Proto__Trace__V1__Span__Event, opentelemetry__proto__trace__v1__span__event__descriptor);
        o->time_unix_nano = ts_nanos(e->time);
        struct kvs l = { 0 };
        if (e->value_case == OPENCENSUS__PROTO__TRACE__V1__SPAN__TIME_EVENT__VALUE_ANNOTATION && e->annotation) {
            o->name = (char *)(uintptr_t)truncatable(e->annotation->description);
            attrs(&l, a, e->annotation->attributes, NULL, NULL);
            o->dropped_attributes_count = dropped_attrs(e->annotation->attributes);
        } else if (e->value_case == OPENCENSUS__PROTO__TRACE__V1__SPAN__TIME_EVENT__VALUE_MESSAGE_EVENT &&
                   e->message_event) {
            const Opencensus__Proto__Trace__V1__Span__TimeEvent__MessageEvent *m = e->message_event;
            o->name = (char *)(uintptr_t)"message";
            put_str(&l, a, "message.type", message_type_name(m->type), true);
            put_int(&l, a, "messaging.message_id", (int64_t)m->id, true);
            put_int(&l, a, "messaging.message_payload_size_bytes", (int64_t)m->uncompressed_size, true);
            put_int(&l, a, "messaging.message_payload_compressed_size_bytes", (int64_t)m->compressed_size, true);
        } else {
            o->name = (char *)(uintptr_t)"An unknown OpenCensus TimeEvent type was detected when translating";
        }
        o->attributes = l.v;
        o->n_attributes = l.n;
        d->events[d->n_events++] = o;
    }
}

static void links(otel_span *d, const Opencensus__Proto__Trace__V1__Span__Links *ls, struct oca_arena *a)
{
    if (!ls)
        return;
    d->dropped_links_count = ls->dropped_links_count > 0 ? (uint32_t)ls->dropped_links_count : 0;
    d->links = oca_arena_alloc(a, (ls->n_link ? ls->n_link : 1) * sizeof(*d->links));
    for (size_t i = 0; i < ls->n_link; i++) {
        const Opencensus__Proto__Trace__V1__Span__Link *k = ls->link[i];
        Opentelemetry__Proto__Trace__V1__Span__Link *o =
            NEW(a, Opentelemetry__Proto__Trace__V1__Span__Link, opentelemetry__proto__trace__v1__span__link__descriptor);
        o->trace_id = fix_id(a, k->trace_id, 16);
        o->span_id = fix_id(a, k->span_id, 8);
        o->trace_state = tracestate(a, k->tracestate);
        struct kvs l = { 0 };
        attrs(&l, a, k->attributes, NULL, NULL);
        o->attributes = l.v;
        o->n_attributes = l.n;
        o->dropped_attributes_count = dropped_attrs(k->attributes);
        d->links[d->n_links++] = o;
    }
}

static otel_span *span(const oc_span *s, struct oca_arena *a)
{
    otel_span *d = NEW(a, otel_span, opentelemetry__proto__trace__v1__span__descriptor);
    bool kind_attr;
    d->kind = span_kind(s, &kind_attr);
    d->trace_id = fix_id(a, s->trace_id, 16);
    d->span_id = fix_id(a, s->span_id, 8);
    d->trace_state = tracestate(a, s->tracestate);
    d->parent_span_id = fix_id(a, s->parent_span_id, 8);
    d->name = (char *)(uintptr_t)truncatable(s->name);
    d->start_time_unix_nano = ts_nanos(s->start_time);
    d->end_time_unix_nano = ts_nanos(s->end_time);
    /* "otel.status_code" (set by the reverse translation) overrides the code, as the Collector. */
    const Opencensus__Proto__Trace__V1__AttributeValue *sc = s->status ? find_attr(s->attributes, "otel.status_code") : NULL;
    bool sc_used = sc && sc->value_case == OPENCENSUS__PROTO__TRACE__V1__ATTRIBUTE_VALUE__VALUE_INT_VALUE;
    if (s->status) {
        d->status = NEW(a, Opentelemetry__Proto__Trace__V1__Status, opentelemetry__proto__trace__v1__status__descriptor);
        d->status->code = s->status->code == 0 ? OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_UNSET
                                               : OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
        if (sc_used && sc->int_value >= 0 && sc->int_value <= 2)
            d->status->code = (int)sc->int_value;
        d->status->message = s->status->message ? s->status->message : empty;
    }
    struct kvs l = { 0 };
    attrs(&l, a, s->attributes, kind_attr ? "span.kind" : NULL, sc_used ? "otel.status_code" : NULL);
    if (s->same_process_as_parent_span)
        put_bool(&l, a, "opencensus.same_process_as_parent_span", s->same_process_as_parent_span->value);
    if (s->child_span_count)
        put_int(&l, a, "opencensus.child_span_count", s->child_span_count->value, true);
    d->attributes = l.v;
    d->n_attributes = l.n;
    d->dropped_attributes_count = dropped_attrs(s->attributes);
    events(d, s->time_events, a);
    links(d, s->links, a);
    return d;
}

static otel_rspans *rspans_new(struct oca_arena *a, const oc_node *node, const oc_resource *res, size_t cap)
{
    otel_rspans *rs = NEW(a, otel_rspans, opentelemetry__proto__trace__v1__resource_spans__descriptor);
    rs->resource = NEW(a, otel_resource, opentelemetry__proto__resource__v1__resource__descriptor);
    oca_opencensus_resource(node, res, rs->resource, a);
    otel_sspans *ss = NEW(a, otel_sspans, opentelemetry__proto__trace__v1__scope_spans__descriptor);
    ss->spans = oca_arena_alloc(a, (cap ? cap : 1) * sizeof(*ss->spans));
    rs->scope_spans = oca_arena_alloc(a, sizeof(*rs->scope_spans));
    rs->scope_spans[0] = ss;
    rs->n_scope_spans = 1;
    return rs;
}

oca_traces_req *oca_opencensus_traces(const Opencensus__Proto__Agent__Trace__V1__ExportTraceServiceRequest *req,
                                      const oc_node *node, const oc_resource *resource, struct oca_arena *a,
                                      struct oca_opencensus_drops *drops)
{
    (void)drops;
    oca_traces_req *out = NEW(a, oca_traces_req,
                              opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor);
    if (req->n_spans == 0)
        return out;
    size_t combined = 0, own = 0;
    for (size_t i = 0; i < req->n_spans; i++) {
        if (req->spans[i]->resource)
            own++;
        else
            combined++;
    }
    out->resource_spans = oca_arena_alloc(a, (own + 1) * sizeof(*out->resource_spans));
    otel_rspans *rs0 = NULL;
    if (combined) {
        rs0 = rspans_new(a, node, resource, combined);
        out->resource_spans[out->n_resource_spans++] = rs0;
    }
    for (size_t i = 0; i < req->n_spans; i++) {
        const oc_span *s = req->spans[i];
        if (!s->resource) {
            otel_sspans *ss = rs0->scope_spans[0];
            ss->spans[ss->n_spans++] = span(s, a);
        } else {
            otel_rspans *rs = rspans_new(a, node, s->resource, 1);
            rs->scope_spans[0]->spans[rs->scope_spans[0]->n_spans++] = span(s, a);
            out->resource_spans[out->n_resource_spans++] = rs;
        }
    }
    return out;
}

/* Metrics. */

static void drop(struct oca_opencensus_drops *d, uint64_t n, const char *why)
{
    if (!d || n == 0)
        return;
    d->items += n;
    if (!d->reason)
        d->reason = why;
}

static void labels(struct kvs *l, struct oca_arena *a, const Opencensus__Proto__Metrics__V1__MetricDescriptor *md,
                   const Opencensus__Proto__Metrics__V1__TimeSeries *ts)
{
    size_t n = ts->n_label_values < md->n_label_keys ? ts->n_label_values : md->n_label_keys;
    for (size_t i = 0; i < n; i++) {
        const Opencensus__Proto__Metrics__V1__LabelValue *v = ts->label_values[i];
        if (!v->has_value)
            continue;
        put_str(l, a, md->label_keys[i]->key, v->value, false);
    }
}

static void *number_point(struct oca_arena *a, const Opencensus__Proto__Metrics__V1__Point *p, bool is_int)
{
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint *d = NEW(a, Opentelemetry__Proto__Metrics__V1__NumberDataPoint,
                                                                opentelemetry__proto__metrics__v1__number_data_point__descriptor);
    if (is_int) {
        d->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
        d->as_int = p->int64_value;
    } else {
        d->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
        d->as_double = p->double_value;
    }
    return d;
}

static Opentelemetry__Proto__Metrics__V1__Exemplar *exemplar(struct oca_arena *a,
                                                            const Opencensus__Proto__Metrics__V1__DistributionValue__Exemplar *e)
{
    Opentelemetry__Proto__Metrics__V1__Exemplar *x =
        NEW(a, Opentelemetry__Proto__Metrics__V1__Exemplar, opentelemetry__proto__metrics__v1__exemplar__descriptor);
    x->time_unix_nano = ts_nanos(e->timestamp);
    x->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
    x->as_double = e->value;
    struct kvs l = { 0 };
    for (size_t i = 0; i < e->n_attachments; i++)
        put_str(&l, a, e->attachments[i]->key, e->attachments[i]->value, false);
    x->filtered_attributes = l.v;
    x->n_filtered_attributes = l.n;
    return x;
}

static void *histogram_point(struct oca_arena *a, const Opencensus__Proto__Metrics__V1__DistributionValue *dv)
{
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *d = NEW(
        a, Opentelemetry__Proto__Metrics__V1__HistogramDataPoint, opentelemetry__proto__metrics__v1__histogram_data_point__descriptor);
    d->count = dv->count > 0 ? (uint64_t)dv->count : 0;
    d->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM;
    d->sum = dv->sum;
    const Opencensus__Proto__Metrics__V1__DistributionValue__BucketOptions *bo = dv->bucket_options;
    if (bo && bo->type_case == OPENCENSUS__PROTO__METRICS__V1__DISTRIBUTION_VALUE__BUCKET_OPTIONS__TYPE_EXPLICIT &&
        bo->explicit_) {
        d->explicit_bounds = bo->explicit_->bounds;
        d->n_explicit_bounds = bo->explicit_->n_bounds;
    }
    d->bucket_counts = oca_arena_alloc(a, (dv->n_buckets ? dv->n_buckets : 1) * sizeof(uint64_t));
    d->exemplars = oca_arena_alloc(a, (dv->n_buckets ? dv->n_buckets : 1) * sizeof(*d->exemplars));
    for (size_t i = 0; i < dv->n_buckets; i++) {
        d->bucket_counts[d->n_bucket_counts++] = dv->buckets[i]->count > 0 ? (uint64_t)dv->buckets[i]->count : 0;
        if (dv->buckets[i]->exemplar)
            d->exemplars[d->n_exemplars++] = exemplar(a, dv->buckets[i]->exemplar);
    }
    return d;
}

static void *summary_point(struct oca_arena *a, const Opencensus__Proto__Metrics__V1__SummaryValue *sv)
{
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint *d = NEW(
        a, Opentelemetry__Proto__Metrics__V1__SummaryDataPoint, opentelemetry__proto__metrics__v1__summary_data_point__descriptor);
    d->count = sv->count && sv->count->value > 0 ? (uint64_t)sv->count->value : 0;
    d->sum = sv->sum ? sv->sum->value : 0;
    if (sv->snapshot && sv->snapshot->n_percentile_values) {
        size_t n = sv->snapshot->n_percentile_values;
        d->quantile_values = oca_arena_alloc(a, n * sizeof(*d->quantile_values));
        for (size_t i = 0; i < n; i++) {
            Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile *q =
                NEW(a, Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile,
                    opentelemetry__proto__metrics__v1__summary_data_point__value_at_quantile__descriptor);
            q->quantile = sv->snapshot->percentile_values[i]->percentile / 100.0;
            q->value = sv->snapshot->percentile_values[i]->value;
            d->quantile_values[d->n_quantile_values++] = q;
        }
    }
    return d;
}

/* The OTLP metric of m, or NULL when its type has no OTLP twin (every point then dropped). */
static otel_metric *metric(const oc_metric *m, struct oca_arena *a, struct oca_opencensus_drops *drops)
{
    size_t total = 0;
    for (size_t i = 0; i < m->n_timeseries; i++)
        total += m->timeseries[i]->n_points;
    const Opencensus__Proto__Metrics__V1__MetricDescriptor *md = m->metric_descriptor;
    if (!md) {
        drop(drops, total, "a metric without a descriptor");
        return NULL;
    }
    int want;                           /* the Point value case this type carries */
    otel_metric *o = NEW(a, otel_metric, opentelemetry__proto__metrics__v1__metric__descriptor);
    o->name = md->name ? md->name : empty;
    o->description = md->description ? md->description : empty;
    o->unit = md->unit ? md->unit : empty;
    ProtobufCMessage *data;
    void ***points;
    size_t *n_points;
    switch (md->type) {
    case OPENCENSUS__PROTO__METRICS__V1__METRIC_DESCRIPTOR__TYPE__GAUGE_INT64:
    case OPENCENSUS__PROTO__METRICS__V1__METRIC_DESCRIPTOR__TYPE__GAUGE_DOUBLE: {
        Opentelemetry__Proto__Metrics__V1__Gauge *g =
            NEW(a, Opentelemetry__Proto__Metrics__V1__Gauge, opentelemetry__proto__metrics__v1__gauge__descriptor);
        o->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
        o->gauge = g;
        data = &g->base;
        points = (void ***)&g->data_points;
        n_points = &g->n_data_points;
        want = md->type == OPENCENSUS__PROTO__METRICS__V1__METRIC_DESCRIPTOR__TYPE__GAUGE_INT64
                   ? OPENCENSUS__PROTO__METRICS__V1__POINT__VALUE_INT64_VALUE
                   : OPENCENSUS__PROTO__METRICS__V1__POINT__VALUE_DOUBLE_VALUE;
        break;
    }
    case OPENCENSUS__PROTO__METRICS__V1__METRIC_DESCRIPTOR__TYPE__CUMULATIVE_INT64:
    case OPENCENSUS__PROTO__METRICS__V1__METRIC_DESCRIPTOR__TYPE__CUMULATIVE_DOUBLE: {
        Opentelemetry__Proto__Metrics__V1__Sum *s =
            NEW(a, Opentelemetry__Proto__Metrics__V1__Sum, opentelemetry__proto__metrics__v1__sum__descriptor);
        s->is_monotonic = 1;
        s->aggregation_temporality = OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
        o->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
        o->sum = s;
        data = &s->base;
        points = (void ***)&s->data_points;
        n_points = &s->n_data_points;
        want = md->type == OPENCENSUS__PROTO__METRICS__V1__METRIC_DESCRIPTOR__TYPE__CUMULATIVE_INT64
                   ? OPENCENSUS__PROTO__METRICS__V1__POINT__VALUE_INT64_VALUE
                   : OPENCENSUS__PROTO__METRICS__V1__POINT__VALUE_DOUBLE_VALUE;
        break;
    }
    case OPENCENSUS__PROTO__METRICS__V1__METRIC_DESCRIPTOR__TYPE__CUMULATIVE_DISTRIBUTION: {
        Opentelemetry__Proto__Metrics__V1__Histogram *h =
            NEW(a, Opentelemetry__Proto__Metrics__V1__Histogram, opentelemetry__proto__metrics__v1__histogram__descriptor);
        h->aggregation_temporality = OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
        o->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
        o->histogram = h;
        data = &h->base;
        points = (void ***)&h->data_points;
        n_points = &h->n_data_points;
        want = OPENCENSUS__PROTO__METRICS__V1__POINT__VALUE_DISTRIBUTION_VALUE;
        break;
    }
    case OPENCENSUS__PROTO__METRICS__V1__METRIC_DESCRIPTOR__TYPE__SUMMARY: {
        Opentelemetry__Proto__Metrics__V1__Summary *s =
            NEW(a, Opentelemetry__Proto__Metrics__V1__Summary, opentelemetry__proto__metrics__v1__summary__descriptor);
        o->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY;
        o->summary = s;
        data = &s->base;
        points = (void ***)&s->data_points;
        n_points = &s->n_data_points;
        want = OPENCENSUS__PROTO__METRICS__V1__POINT__VALUE_SUMMARY_VALUE;
        break;
    }
    default:
        /* GAUGE_DISTRIBUTION and UNSPECIFIED have no OTLP twin in the Collector's translator. */
        drop(drops, total, md->type == OPENCENSUS__PROTO__METRICS__V1__METRIC_DESCRIPTOR__TYPE__GAUGE_DISTRIBUTION
                               ? "GAUGE_DISTRIBUTION metrics have no OTLP equivalent"
                               : "metrics of unspecified or unknown type");
        return NULL;
    }
    (void)data;
    *points = oca_arena_alloc(a, (total ? total : 1) * sizeof(void *));
    for (size_t i = 0; i < m->n_timeseries; i++) {
        const Opencensus__Proto__Metrics__V1__TimeSeries *ts = m->timeseries[i];
        struct kvs l = { 0 };
        labels(&l, a, md, ts);
        uint64_t start = ts_nanos(ts->start_timestamp);
        for (size_t j = 0; j < ts->n_points; j++) {
            const Opencensus__Proto__Metrics__V1__Point *p = ts->points[j];
            if ((int)p->value_case != want || (want == OPENCENSUS__PROTO__METRICS__V1__POINT__VALUE_DISTRIBUTION_VALUE &&
                                               !p->distribution_value) ||
                (want == OPENCENSUS__PROTO__METRICS__V1__POINT__VALUE_SUMMARY_VALUE && !p->summary_value)) {
                drop(drops, 1, "a point whose value does not match its metric's type");
                continue;
            }
            uint64_t t = ts_nanos(p->timestamp);
            if (want == OPENCENSUS__PROTO__METRICS__V1__POINT__VALUE_DISTRIBUTION_VALUE) {
                Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *d = histogram_point(a, p->distribution_value);
                d->attributes = l.v, d->n_attributes = l.n, d->start_time_unix_nano = start, d->time_unix_nano = t;
                (*points)[(*n_points)++] = d;
            } else if (want == OPENCENSUS__PROTO__METRICS__V1__POINT__VALUE_SUMMARY_VALUE) {
                Opentelemetry__Proto__Metrics__V1__SummaryDataPoint *d = summary_point(a, p->summary_value);
                d->attributes = l.v, d->n_attributes = l.n, d->start_time_unix_nano = start, d->time_unix_nano = t;
                (*points)[(*n_points)++] = d;
            } else {
                Opentelemetry__Proto__Metrics__V1__NumberDataPoint *d =
                    number_point(a, p, want == OPENCENSUS__PROTO__METRICS__V1__POINT__VALUE_INT64_VALUE);
                d->attributes = l.v, d->n_attributes = l.n, d->start_time_unix_nano = start, d->time_unix_nano = t;
                (*points)[(*n_points)++] = d;
            }
        }
    }
    return o;
}

static otel_rmetrics *rmetrics_new(struct oca_arena *a, const oc_node *node, const oc_resource *res, size_t cap)
{
    otel_rmetrics *rm = NEW(a, otel_rmetrics, opentelemetry__proto__metrics__v1__resource_metrics__descriptor);
    rm->resource = NEW(a, otel_resource, opentelemetry__proto__resource__v1__resource__descriptor);
    oca_opencensus_resource(node, res, rm->resource, a);
    otel_smetrics *sm = NEW(a, otel_smetrics, opentelemetry__proto__metrics__v1__scope_metrics__descriptor);
    sm->metrics = oca_arena_alloc(a, (cap ? cap : 1) * sizeof(*sm->metrics));
    rm->scope_metrics = oca_arena_alloc(a, sizeof(*rm->scope_metrics));
    rm->scope_metrics[0] = sm;
    rm->n_scope_metrics = 1;
    return rm;
}

oca_metrics_req *oca_opencensus_metrics(const Opencensus__Proto__Agent__Metrics__V1__ExportMetricsServiceRequest *req,
                                        const oc_node *node, const oc_resource *resource, struct oca_arena *a,
                                        struct oca_opencensus_drops *drops)
{
    oca_metrics_req *out = NEW(a, oca_metrics_req,
                               opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor);
    if (req->n_metrics == 0)
        return out;
    size_t combined = 0, own = 0;
    for (size_t i = 0; i < req->n_metrics; i++) {
        if (req->metrics[i]->resource)
            own++;
        else
            combined++;
    }
    out->resource_metrics = oca_arena_alloc(a, (own + 1) * sizeof(*out->resource_metrics));
    otel_rmetrics *rm0 = NULL;
    for (size_t i = 0; i < req->n_metrics; i++) {
        const oc_metric *m = req->metrics[i];
        otel_metric *o = metric(m, a, drops);
        if (!o)
            continue;
        if (!m->resource) {
            if (!rm0) {
                rm0 = rmetrics_new(a, node, resource, combined);
                out->resource_metrics[out->n_resource_metrics++] = rm0;
            }
            otel_smetrics *sm = rm0->scope_metrics[0];
            sm->metrics[sm->n_metrics++] = o;
        } else {
            otel_rmetrics *rm = rmetrics_new(a, node, m->resource, 1);
            rm->scope_metrics[0]->metrics[rm->scope_metrics[0]->n_metrics++] = o;
            out->resource_metrics[out->n_resource_metrics++] = rm;
        }
    }
    return out;
}
