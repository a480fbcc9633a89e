/* OTLP traces to Zipkin v2 JSON or protobuf; see translate.h. Each span is first translated into a
 * small model (ids, times in µs, endpoints, annotations, a tag map) following the Collector's
 * zipkinv2 FromTranslator step by step, then the model is written in the format asked for.
 * Strings are made valid UTF-8 on the way in, as Go's JSON encoder would. */
#include "exporters/zipkin/translate.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/errors.h"
#include "base/mem.h"
#include "codec/anyvalue.h"
#include "zipkin/zipkin.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event SpanEvent;
typedef Opentelemetry__Proto__Trace__V1__Span__Link SpanLink;

/* One Zipkin endpoint; absent unless present. */
struct endpoint {
    bool present;
    const char *service;
    int ipver;                  /* 0, 4 or 6 */
    uint8_t ip[16];
    uint16_t port;
};

struct annotation {
    uint64_t ts;                /* µs */
    const char *value;
};

struct zspan {
    uint8_t trace_id[16], id[8], parent[8];
    bool has_parent;
    const char *name;
    int kind;                   /* ZIPKIN__PROTO3__SPAN__KIND__*; UNSPECIFIED is absent */
    uint64_t ts, dur;           /* µs; 0 is absent */
    struct endpoint local, remote;
    struct annotation *ann;
    size_t n_ann;
    struct json_object *tags;   /* tag name -> json string; owned */
};

struct xlate {
    struct oca_arena *a;        /* the model's strings and arrays */
    struct oca_buf tmp;         /* scratch for one value */
    const char *default_service;
    char *detail;
    size_t detail_size;
};

static int fail(struct xlate *x, const char *why, const Span *sp)
{
    if (x->detail_size)
        snprintf(x->detail, x->detail_size, "%s (span \"%s\")", why, sp && sp->name ? sp->name : "");
    return OCA_ERR_INVALID;
}

/* s itself when it is valid UTF-8, else a copy in a where each invalid byte is U+FFFD. */
static const char *clean_utf8(struct oca_arena *a, const char *s)
{
    if (!s)
        return "";
    size_t n = strlen(s), i = 0;
    uint32_t cp;
    while (i < n) {
        size_t l = oca_utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (!l)
            break;
        i += l;
    }
    if (i == n)
        return s;
    struct oca_buf b = { 0 };
    for (i = 0; i < n;) {
        size_t l = oca_utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (l) {
            oca_buf_append(&b, s + i, l);
            i += l;
        } else {
            oca_buf_puts(&b, "\xef\xbf\xbd");
            i++;
        }
    }
    char *r = oca_arena_strndup(a, b.data, b.len);
    oca_buf_free(&b);
    return r;
}

/* The tag map: a json-c object of strings, which is also what the JSON output embeds. */
static void tag_put(struct xlate *x, struct json_object *tags, const char *key, const char *value)
{
    json_object_object_add(tags, clean_utf8(x->a, key), json_object_new_string(clean_utf8(x->a, value)));
}

static const char *tag_get(struct json_object *tags, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(tags, key, &v) ? json_object_get_string(v) : NULL;
}

static void tags_add_attrs(struct xlate *x, struct json_object *tags, KeyValue *const *kvs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!kvs[i])
            continue;
        oca_buf_reset(&x->tmp);
        oca_anyvalue_append_string(&x->tmp, kvs[i]->value);
        tag_put(x, tags, kvs[i]->key ? kvs[i]->key : "", x->tmp.data ? x->tmp.data : "");
    }
}

static struct json_object *tags_copy(struct json_object *src)
{
    struct json_object *dst = json_object_new_object();
    json_object_object_foreach(src, k, v)
        json_object_object_add(dst, k, json_object_get(v));
    return dst;
}

/* The local service name of a resource, removing the attribute it came from from the tags (and
 * saying which it was when not service.name), as the Collector does. */
static const char *resource_service(struct xlate *x, struct json_object *rtags, size_t n_attrs)
{
    static const char *const fallbacks[] = { "faas.name", "k8s.deployment.name", "process.executable.name" };
    if (n_attrs == 0)
        return x->default_service;
    const char *s = tag_get(rtags, "service.name");
    if (s) {
        s = oca_arena_strdup(x->a, s);
        json_object_object_del(rtags, "service.name");
        return s;
    }
    for (size_t i = 0; i < sizeof(fallbacks) / sizeof(fallbacks[0]); i++) {
        s = tag_get(rtags, fallbacks[i]);
        if (s) {
            s = oca_arena_strdup(x->a, s);
            json_object_object_del(rtags, fallbacks[i]);
            tag_put(x, rtags, "otlp.service.name.source", fallbacks[i]);
            return s;
        }
    }
    return x->default_service;
}

static bool id_set(const ProtobufCBinaryData *id, size_t len)
{
    if (id->len != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (id->data[i])
            return true;
    return false;
}

/* strconv.ParseUint(s, 10, 16), 0 when it fails. */
static uint16_t parse_port(const char *s)
{
    uint32_t v = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (uint32_t)(*s - '0');
        if (v > 65535)
            return 0;
    }
    return (uint16_t)v;
}

/* An endpoint from the tags: the IP and port keys given, and the service name. Absent when there is
 * neither a service name nor an IP that parses (a port alone does not make one). */
static void make_endpoint(struct xlate *x, struct json_object *tags, const char *service, const char *ip_key,
                          const char *port_key, struct endpoint *ep)
{
    memset(ep, 0, sizeof(*ep));
    const char *ip = tag_get(tags, ip_key);
    if (ip) {
        if (strchr(ip, ':')) {
            if (inet_pton(AF_INET6, ip, ep->ip) == 1)
                ep->ipver = 6;
        } else if (inet_pton(AF_INET, ip, ep->ip) == 1) {
            ep->ipver = 4;
        }
    }
    const char *port = tag_get(tags, port_key);
    if (port)
        ep->port = parse_port(port);
    if (!*service && !ep->ipver)
        return;
    ep->present = true;
    ep->service = oca_arena_strdup(x->a, service);
}

static uint64_t round_us(uint64_t ns) { return (ns + 500) / 1000; }

static void put_hex(struct oca_buf *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        oca_buf_putc(b, hex[p[i] >> 4]);
        oca_buf_putc(b, hex[p[i] & 15]);
    }
}

static int translate_events(struct xlate *x, const Span *sp, struct zspan *z)
{
    z->n_ann = sp->n_events;
    z->ann = sp->n_events ? oca_arena_zalloc(x->a, sp->n_events * sizeof(*z->ann)) : NULL;
    for (size_t i = 0; i < sp->n_events; i++) {
        const SpanEvent *ev = sp->events[i];
        if (!ev)
            continue;
        z->ann[i].ts = round_us(ev->time_unix_nano);
        if (ev->n_attributes == 0 && ev->dropped_attributes_count == 0) {
            z->ann[i].value = clean_utf8(x->a, ev->name);
            continue;
        }
        oca_buf_reset(&x->tmp);
        oca_buf_puts(&x->tmp, ev->name ? ev->name : "");
        oca_buf_putc(&x->tmp, '|');
        if (!oca_anyvalue_append_json_map(&x->tmp, ev->attributes, ev->n_attributes, true))
            return fail(x, "json: unsupported value: a NaN or infinite number among an event's attributes", sp);
        oca_buf_printf(&x->tmp, "|%" PRIu32, ev->dropped_attributes_count);
        z->ann[i].value = clean_utf8(x->a, oca_arena_strndup(x->a, x->tmp.data, x->tmp.len));
    }
    return OCA_OK;
}

static int translate_links(struct xlate *x, const Span *sp, struct zspan *z)
{
    for (size_t i = 0; i < sp->n_links; i++) {
        const SpanLink *l = sp->links[i];
        if (!l)
            continue;
        oca_buf_reset(&x->tmp);
        if (id_set(&l->trace_id, 16))
            put_hex(&x->tmp, l->trace_id.data, 16);
        oca_buf_putc(&x->tmp, '|');
        if (id_set(&l->span_id, 8))
            put_hex(&x->tmp, l->span_id.data, 8);
        oca_buf_printf(&x->tmp, "|%s|", l->trace_state ? l->trace_state : "");
        if (!oca_anyvalue_append_json_map(&x->tmp, l->attributes, l->n_attributes, true))
            return fail(x, "json: unsupported value: a NaN or infinite number among a link's attributes", sp);
        oca_buf_printf(&x->tmp, "|%" PRIu32, l->dropped_attributes_count);
        char key[40];
        snprintf(key, sizeof(key), "otlp.link.%zu", i);
        tag_put(x, z->tags, key, x->tmp.data);
    }
    return OCA_OK;
}

/* One span, in the order of the Collector's spanToZipkinSpan: later steps overwrite or remove tags
 * that earlier ones (and the attributes) set. */
static int translate_span(struct xlate *x, const Span *sp, const char *service, struct json_object *stags,
                          struct zspan *z)
{
    z->tags = tags_copy(stags);
    tags_add_attrs(x, z->tags, sp->attributes, sp->n_attributes);
    if (!id_set(&sp->trace_id, 16))
        return fail(x, "TraceID is invalid", sp);
    memcpy(z->trace_id, sp->trace_id.data, 16);
    if (!id_set(&sp->span_id, 8))
        return fail(x, "SpanID is invalid", sp);
    memcpy(z->id, sp->span_id.data, 8);
    if (sp->trace_state && *sp->trace_state)
        tag_put(x, z->tags, "w3c.tracestate", sp->trace_state);
    if (id_set(&sp->parent_span_id, 8)) {
        z->has_parent = true;
        memcpy(z->parent, sp->parent_span_id.data, 8);
    }
    z->name = clean_utf8(x->a, sp->name);
    /* A start before one second past the epoch is taken as unset. */
    if (sp->start_time_unix_nano >= 1000000000u)
        z->ts = round_us(sp->start_time_unix_nano);
    if (sp->end_time_unix_nano != 0) {
        int64_t d = (int64_t)(sp->end_time_unix_nano - sp->start_time_unix_nano);
        if (d < 0)
            return fail(x, "valid duration required: the span ends before it starts", sp);
        /* zipkin-go: sub-microsecond durations are 1, others rounded to the nearest. */
        z->dur = d == 0 ? 0 : d < 1000 ? 1 : ((uint64_t)d + 500) / 1000;
    }
    switch (sp->kind) {
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT:
        z->kind = ZIPKIN__PROTO3__SPAN__KIND__CLIENT;
        break;
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER:
        z->kind = ZIPKIN__PROTO3__SPAN__KIND__SERVER;
        break;
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_PRODUCER:
        z->kind = ZIPKIN__PROTO3__SPAN__KIND__PRODUCER;
        break;
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CONSUMER:
        z->kind = ZIPKIN__PROTO3__SPAN__KIND__CONSUMER;
        break;
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL:
        tag_put(x, z->tags, "span.kind", "internal");
        break;
    default:
        break;
    }

    make_endpoint(x, z->tags, service, "net.host.ip", "net.host.port", &z->local);
    const char *peer = tag_get(z->tags, "peer.service");
    make_endpoint(x, z->tags, peer ? peer : "", "net.peer.ip", "net.peer.port", &z->remote);
    static const char *const used[] = { "peer.service", "net.host.ip", "net.host.port", "net.peer.ip",
                                        "net.peer.port" };
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++)
        json_object_object_del(z->tags, used[i]);

    const Opentelemetry__Proto__Trace__V1__Status *st = sp->status;
    int code = st ? (int)st->code : 0;
    if (code == OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR)
        tag_put(x, z->tags, "error", "true");
    else
        json_object_object_del(z->tags, "error");
    if (code != OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_UNSET) {
        tag_put(x, z->tags, "otel.status_code",
                code == OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK ? "STATUS_CODE_OK"
                : code == OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR ? "STATUS_CODE_ERROR"
                : "");
        if (st->message && *st->message)
            tag_put(x, z->tags, "otel.status_description", st->message);
    }

    int err = translate_events(x, sp, z);
    if (err == OCA_OK)
        err = translate_links(x, sp, z);
    return err;
}

static const char *lower_ascii(struct oca_arena *a, const char *s)
{
    char *r = oca_arena_strdup(a, s);
    for (char *p = r; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return r;
}

/* An IPv6 address as Go's net.IP.String: RFC 5952 (the longest run of two or more zero groups
 * becomes ::, the first of equals), and an IPv4-mapped address in dotted form. */
static void format_ipv6(const uint8_t ip[16], char out[48])
{
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (memcmp(ip, mapped, 12) == 0) {
        inet_ntop(AF_INET, ip + 12, out, 48);
        return;
    }
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && ip[2 * j] == 0 && ip[2 * j + 1] == 0)
            j++;
        if (j - i > best_len && j - i >= 2)
            best = i, best_len = j - i;
        i = j > i ? j : i + 1;
    }
    char *p = out;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            p += sprintf(p, "::");
            i += best_len - 1;
            continue;
        }
        if (i && i != best + best_len)
            *p++ = ':';
        p += sprintf(p, "%x", (unsigned)(ip[2 * i] << 8 | ip[2 * i + 1]));
    }
    *p = '\0';
}

static const char *const kind_names[] = { NULL, "CLIENT", "SERVER", "PRODUCER", "CONSUMER" };

static struct json_object *endpoint_json(struct oca_arena *a, const struct endpoint *ep)
{
    struct json_object *o = json_object_new_object();
    char ip[48];
    if (*ep->service)
        json_object_object_add(o, "serviceName", json_object_new_string(lower_ascii(a, ep->service)));
    if (ep->ipver == 4) {
        inet_ntop(AF_INET, ep->ip, ip, sizeof(ip));
        json_object_object_add(o, "ipv4", json_object_new_string(ip));
    } else if (ep->ipver == 6) {
        format_ipv6(ep->ip, ip);
        json_object_object_add(o, "ipv6", json_object_new_string(ip));
    }
    if (ep->port)
        json_object_object_add(o, "port", json_object_new_int(ep->port));
    return o;
}

static void hex_field(struct json_object *o, const char *key, const uint8_t *p, size_t n)
{
    struct oca_buf b = { 0 };
    put_hex(&b, p, n);
    json_object_object_add(o, key, json_object_new_string_len(b.data, (int)b.len));
    oca_buf_free(&b);
}

/* The JSON of zipkin-go's SpanModel: a 64-bit trace id when the high half is zero, span and service
 * names in lower case, empty fields left out. */
static void write_json(struct oca_arena *a, const struct zspan *spans, size_t n, struct oca_buf *out)
{
    struct json_object *arr = json_object_new_array_ext((int)n);
    for (size_t i = 0; i < n; i++) {
        const struct zspan *z = &spans[i];
        struct json_object *o = json_object_new_object();
        static const uint8_t zero[8];
        bool high_zero = memcmp(z->trace_id, zero, 8) == 0;
        hex_field(o, "traceId", z->trace_id + (high_zero ? 8 : 0), high_zero ? 8 : 16);
        hex_field(o, "id", z->id, 8);
        if (z->has_parent)
            hex_field(o, "parentId", z->parent, 8);
        if (*z->name)
            json_object_object_add(o, "name", json_object_new_string(lower_ascii(a, z->name)));
        if (z->kind)
            json_object_object_add(o, "kind", json_object_new_string(kind_names[z->kind]));
        if (z->ts)
            json_object_object_add(o, "timestamp", json_object_new_uint64(z->ts));
        if (z->dur)
            json_object_object_add(o, "duration", json_object_new_uint64(z->dur));
        if (z->local.present)
            json_object_object_add(o, "localEndpoint", endpoint_json(a, &z->local));
        if (z->remote.present)
            json_object_object_add(o, "remoteEndpoint", endpoint_json(a, &z->remote));
        if (z->n_ann) {
            struct json_object *anns = json_object_new_array_ext((int)z->n_ann);
            for (size_t k = 0; k < z->n_ann; k++) {
                struct json_object *an = json_object_new_object();
                json_object_object_add(an, "timestamp", json_object_new_uint64(z->ann[k].ts));
                json_object_object_add(an, "value", json_object_new_string(z->ann[k].value ? z->ann[k].value : ""));
                json_object_array_add(anns, an);
            }
            json_object_object_add(o, "annotations", anns);
        }
        if (json_object_object_length(z->tags) > 0)
            json_object_object_add(o, "tags", json_object_get(z->tags));
        json_object_array_add(arr, o);
    }
    size_t len;
    const char *s = json_object_to_json_string_length(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    oca_buf_append(out, s, len);
    json_object_put(arr);
}

static Zipkin__Proto3__Endpoint *endpoint_proto(struct oca_arena *a, const struct endpoint *ep)
{
    if (!ep->present)
        return NULL;
    Zipkin__Proto3__Endpoint *pe = oca_arena_alloc(a, sizeof(*pe));
    zipkin__proto3__endpoint__init(pe);
    pe->service_name = (char *)(uintptr_t)ep->service;
    if (ep->ipver == 4)
        pe->ipv4 = (ProtobufCBinaryData){ 4, oca_arena_memdup(a, ep->ip, 4) };
    else if (ep->ipver == 6)
        pe->ipv6 = (ProtobufCBinaryData){ 16, oca_arena_memdup(a, ep->ip, 16) };
    pe->port = ep->port;
    return pe;
}

/* zipkin-go's proto3 serializer: 128-bit trace ids always, names as they are. */
static void write_proto(struct oca_arena *a, struct zspan *spans, size_t n, struct oca_buf *out)
{
    Zipkin__Proto3__ListOfSpans list = ZIPKIN__PROTO3__LIST_OF_SPANS__INIT;
    list.n_spans = n;
    list.spans = n ? oca_arena_alloc(a, n * sizeof(*list.spans)) : NULL;
    for (size_t i = 0; i < n; i++) {
        struct zspan *z = &spans[i];
        Zipkin__Proto3__Span *ps = oca_arena_alloc(a, sizeof(*ps));
        zipkin__proto3__span__init(ps);
        ps->trace_id = (ProtobufCBinaryData){ 16, z->trace_id };
        ps->id = (ProtobufCBinaryData){ 8, z->id };
        if (z->has_parent)
            ps->parent_id = (ProtobufCBinaryData){ 8, z->parent };
        ps->kind = (Zipkin__Proto3__Span__Kind)z->kind;
        ps->name = (char *)(uintptr_t)z->name;
        ps->timestamp = z->ts;
        ps->duration = z->dur;
        ps->local_endpoint = endpoint_proto(a, &z->local);
        ps->remote_endpoint = endpoint_proto(a, &z->remote);
        ps->n_annotations = z->n_ann;
        ps->annotations = z->n_ann ? oca_arena_alloc(a, z->n_ann * sizeof(*ps->annotations)) : NULL;
        for (size_t k = 0; k < z->n_ann; k++) {
            Zipkin__Proto3__Annotation *pa = oca_arena_alloc(a, sizeof(*pa));
            zipkin__proto3__annotation__init(pa);
            pa->timestamp = z->ann[k].ts;
            pa->value = (char *)(uintptr_t)(z->ann[k].value ? z->ann[k].value : "");
            ps->annotations[k] = pa;
        }
        size_t nt = (size_t)json_object_object_length(z->tags), k = 0;
        ps->n_tags = nt;
        ps->tags = nt ? oca_arena_alloc(a, nt * sizeof(*ps->tags)) : NULL;
        json_object_object_foreach(z->tags, key, val) {
            Zipkin__Proto3__Span__TagsEntry *te = oca_arena_alloc(a, sizeof(*te));
            zipkin__proto3__span__tags_entry__init(te);
            te->key = key;
            te->value = (char *)(uintptr_t)json_object_get_string(val);
            ps->tags[k++] = te;
        }
        list.spans[i] = ps;
    }
    size_t size = zipkin__proto3__list_of_spans__get_packed_size(&list);
    oca_buf_reserve(out, size);
    out->len += zipkin__proto3__list_of_spans__pack(&list, (uint8_t *)out->data + out->len);
    out->data[out->len] = '\0';
}

int oca_zipkin_encode(const oca_traces_req *req, enum oca_zipkin_format fmt, const char *default_service_name,
                      struct oca_buf *out, char *detail, size_t detail_size)
{
    struct xlate x = { .a = oca_arena_new(4096), .default_service = default_service_name ? default_service_name : "",
                       .detail = detail, .detail_size = detail_size };
    size_t total = oca_batch_count_items(OCA_SIGNAL_TRACES, &req->base), n = 0;
    struct zspan *spans = total ? oca_xcalloc(total, sizeof(*spans)) : NULL;
    struct json_object *rtags = NULL, *stags = NULL;
    int err = OCA_OK;
    for (size_t r = 0; r < req->n_resource_spans; r++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[r];
        if (!rs)
            continue;
        const Opentelemetry__Proto__Resource__V1__Resource *res = rs->resource;
        rtags = json_object_new_object();
        size_t n_attrs = res ? res->n_attributes : 0;
        if (n_attrs)
            tags_add_attrs(&x, rtags, res->attributes, n_attrs);
        const char *service = resource_service(&x, rtags, n_attrs);
        for (size_t s = 0; s < rs->n_scope_spans; s++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[s];
            if (!ss)
                continue;
            /* Scope tags are per scope here; the Collector lets them leak into the next scope of
             * the same resource, which is not worth copying. */
            stags = tags_copy(rtags);
            const Opentelemetry__Proto__Common__V1__InstrumentationScope *sc = ss->scope;
            if (sc) {
                tags_add_attrs(&x, stags, sc->attributes, sc->n_attributes);
                if (sc->name && *sc->name)
                    tag_put(&x, stags, "otel.library.name", sc->name);
                if (sc->version && *sc->version)
                    tag_put(&x, stags, "otel.library.version", sc->version);
            }
            for (size_t k = 0; k < ss->n_spans && n < total; k++) {
                if (!ss->spans[k])
                    continue;
                err = translate_span(&x, ss->spans[k], service, stags, &spans[n++]);
                if (err != OCA_OK)
                    goto done;
            }
            json_object_put(stags);
            stags = NULL;
        }
        json_object_put(rtags);
        rtags = NULL;
    }
    if (fmt == OCA_ZIPKIN_PROTO)
        write_proto(x.a, spans, n, out);
    else
        write_json(x.a, spans, n, out);
done:
    json_object_put(stags);
    json_object_put(rtags);
    for (size_t i = 0; i < n; i++)
        json_object_put(spans[i].tags);
    free(spans);
    oca_buf_free(&x.tmp);
    oca_arena_destroy(x.a);
    return err;
}
