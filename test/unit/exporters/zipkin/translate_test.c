/* Tests of exporters/zipkin/translate.c: spans covering every rule of the Collector's zipkinv2
 * translator come out as the golden Zipkin JSON (compared field by field through json-c) and as the
 * golden ListOfSpans (unpacked with protobuf-c); attribute values become the strings pcommon gives;
 * spans Zipkin cannot carry fail the batch and leave the output alone. */
#include "testutil.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/errors.h"
#include "codec/anyvalue.h"
#include "exporters/zipkin/translate.h"
#include "zipkin/zipkin.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans ResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans ScopeSpans;

static struct oca_arena *A;

static AnyValue *v_new(int c)
{
    AnyValue *v = oca_arena_zalloc(A, sizeof(*v));
    opentelemetry__proto__common__v1__any_value__init(v);
    v->value_case = c;
    return v;
}

static AnyValue *v_str(const char *s)
{
    AnyValue *v = v_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
    v->string_value = oca_arena_strdup(A, s);
    return v;
}

static AnyValue *v_int(int64_t i)
{
    AnyValue *v = v_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
    v->int_value = i;
    return v;
}

static AnyValue *v_dbl(double d)
{
    AnyValue *v = v_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
    v->double_value = d;
    return v;
}

static AnyValue *v_bool(bool b)
{
    AnyValue *v = v_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
    v->bool_value = b;
    return v;
}

static AnyValue *v_bytes(const void *p, size_t n)
{
    AnyValue *v = v_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE);
    v->bytes_value = (ProtobufCBinaryData){ n, oca_arena_memdup(A, p, n) };
    return v;
}

static KeyValue *kv(const char *k, AnyValue *v)
{
    KeyValue *x = oca_arena_zalloc(A, sizeof(*x));
    opentelemetry__proto__common__v1__key_value__init(x);
    x->key = oca_arena_strdup(A, k);
    x->value = v;
    return x;
}

/* n KeyValues from the variadic list. */
static KeyValue **kvs(size_t n, ...)
{
    KeyValue **r = oca_arena_zalloc(A, (n ? n : 1) * sizeof(*r));
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        r[i] = va_arg(ap, KeyValue *);
    va_end(ap);
    return r;
}

static AnyValue *v_arr(size_t n, ...)
{
    AnyValue *v = v_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE);
    v->array_value = oca_arena_zalloc(A, sizeof(*v->array_value));
    opentelemetry__proto__common__v1__array_value__init(v->array_value);
    v->array_value->n_values = n;
    v->array_value->values = oca_arena_zalloc(A, (n ? n : 1) * sizeof(AnyValue *));
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        v->array_value->values[i] = va_arg(ap, AnyValue *);
    va_end(ap);
    return v;
}

static AnyValue *v_map(size_t n, KeyValue **list)
{
    AnyValue *v = v_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE);
    v->kvlist_value = oca_arena_zalloc(A, sizeof(*v->kvlist_value));
    opentelemetry__proto__common__v1__key_value_list__init(v->kvlist_value);
    v->kvlist_value->n_values = n;
    v->kvlist_value->values = list;
    return v;
}

static ProtobufCBinaryData id_of(uint8_t first, size_t len, bool high_zero)
{
    uint8_t *p = oca_arena_alloc(A, len);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(first + i);
    if (high_zero)
        memset(p, 0, len / 2);
    return (ProtobufCBinaryData){ len, p };
}

static Span *new_span(const char *name)
{
    Span *sp = oca_arena_zalloc(A, sizeof(*sp));
    opentelemetry__proto__trace__v1__span__init(sp);
    sp->name = oca_arena_strdup(A, name);
    sp->trace_id = id_of(0x01, 16, false);
    sp->span_id = id_of(0xa1, 8, false);
    sp->start_time_unix_nano = 1700000000000000000ull;
    sp->end_time_unix_nano = 1700000000000000000ull + 5000;
    return sp;
}

static void set_status(Span *sp, int code, const char *msg)
{
    sp->status = oca_arena_zalloc(A, sizeof(*sp->status));
    opentelemetry__proto__trace__v1__status__init(sp->status);
    sp->status->code = code;
    sp->status->message = oca_arena_strdup(A, msg);
}

static ScopeSpans *new_scope(const char *name, const char *version, size_t n_attrs, KeyValue **attrs, size_t n,
                             Span **spans)
{
    ScopeSpans *ss = oca_arena_zalloc(A, sizeof(*ss));
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    if (name) {
        ss->scope = oca_arena_zalloc(A, sizeof(*ss->scope));
        opentelemetry__proto__common__v1__instrumentation_scope__init(ss->scope);
        ss->scope->name = oca_arena_strdup(A, name);
        ss->scope->version = oca_arena_strdup(A, version ? version : "");
        ss->scope->n_attributes = n_attrs;
        ss->scope->attributes = attrs;
    }
    ss->n_spans = n;
    ss->spans = spans;
    return ss;
}

static ResourceSpans *new_resource(size_t n_attrs, KeyValue **attrs, size_t n, ScopeSpans **scopes)
{
    ResourceSpans *rs = oca_arena_zalloc(A, sizeof(*rs));
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    if (attrs) {
        rs->resource = oca_arena_zalloc(A, sizeof(*rs->resource));
        opentelemetry__proto__resource__v1__resource__init(rs->resource);
        rs->resource->n_attributes = n_attrs;
        rs->resource->attributes = attrs;
    }
    rs->n_scope_spans = n;
    rs->scope_spans = scopes;
    return rs;
}

static oca_traces_req *new_req(size_t n, ResourceSpans **rss)
{
    oca_traces_req *req = oca_arena_zalloc(A, sizeof(*req));
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(req);
    req->n_resource_spans = n;
    req->resource_spans = rss;
    return req;
}

#define ARR(T, ...) ((T[]){ __VA_ARGS__ })
#define LIST(T, n, ...) memcpy(oca_arena_alloc(A, (n) * sizeof(T)), ARR(T, __VA_ARGS__), (n) * sizeof(T))

/* The main golden span: every rule that writes a field or a tag. */
static Span *golden_span(void)
{
    Span *sp = new_span("GET /Users");
    sp->parent_span_id = id_of(0xb1, 8, false);
    sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    sp->start_time_unix_nano = 1700000000123456500ull;        /* half a µs: rounds up */
    sp->end_time_unix_nano = 1700000000123456500ull + 1500;   /* 1.5 µs: rounds up to 2 */
    sp->trace_state = oca_arena_strdup(A, "k=v");
    static const uint8_t dead[] = { 0xde, 0xad, 0xbe, 0xef };
    sp->n_attributes = 17;
    sp->attributes = kvs(17, kv("shared", v_str("from-span")), kv("s", v_str("plain")), kv("i", v_int(-7)),
                         kv("d", v_dbl(1.5)), kv("big", v_dbl(1e21)), kv("tiny", v_dbl(1e-7)),
                         kv("b", v_bool(false)), kv("bytes", v_bytes(dead, 4)),
                         kv("arr", v_arr(3, v_int(1), v_str("a"), v_bool(true))),
                         kv("map", v_map(2, kvs(2, kv("z", v_int(1)), kv("a", v_str("x<y"))))),
                         kv("peer.service", v_str("DB")), kv("net.peer.ip", v_str("10.0.0.7")),
                         kv("net.peer.port", v_int(8080)), kv("net.host.ip", v_str("::1")),
                         kv("net.host.port", v_str("notaport")), kv("error", v_str("false")),
                         kv("s", v_str("plain")));
    set_status(sp, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR, "boom");
    sp->n_events = 2;
    sp->events = oca_arena_zalloc(A, 2 * sizeof(*sp->events));
    for (int i = 0; i < 2; i++) {
        sp->events[i] = oca_arena_zalloc(A, sizeof(*sp->events[i]));
        opentelemetry__proto__trace__v1__span__event__init(sp->events[i]);
    }
    sp->events[0]->name = oca_arena_strdup(A, "Started");
    sp->events[0]->time_unix_nano = 1700000000123457000ull;
    sp->events[1]->name = oca_arena_strdup(A, "retry");
    sp->events[1]->time_unix_nano = 1700000000123458499ull;
    sp->events[1]->n_attributes = 2;
    sp->events[1]->attributes = kvs(2, kv("why", v_str("a&b")), kv("n", v_int(2)));
    sp->events[1]->dropped_attributes_count = 1;
    sp->n_links = 1;
    sp->links = oca_arena_zalloc(A, sizeof(*sp->links));
    sp->links[0] = oca_arena_zalloc(A, sizeof(*sp->links[0]));
    opentelemetry__proto__trace__v1__span__link__init(sp->links[0]);
    sp->links[0]->trace_id = id_of(0x11, 16, false);
    sp->links[0]->span_id = id_of(0xc1, 8, false);
    sp->links[0]->trace_state = oca_arena_strdup(A, "x=y");
    sp->links[0]->n_attributes = 1;
    sp->links[0]->attributes = kvs(1, kv("lk", v_str("lv")));
    sp->links[0]->dropped_attributes_count = 3;
    return sp;
}

/* An internal span with a 64-bit trace id, no name, parent or times, status OK. */
static Span *plain_span(void)
{
    Span *sp = new_span("");
    sp->trace_id = id_of(0x01, 16, true);
    sp->span_id = id_of(0x01, 8, false);
    sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL;
    sp->start_time_unix_nano = 0;
    sp->end_time_unix_nano = 0;
    sp->n_attributes = 3;
    sp->attributes = kvs(3, kv("error", v_str("false")), kv("net.peer.port", v_str("9")),
                         kv("net.peer.ip", v_str("not-an-ip")));
    set_status(sp, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK, "");
    return sp;
}

/* Sub-microsecond duration, status unset with a message (not reported). */
static Span *client_span(void)
{
    Span *sp = new_span("c");
    sp->span_id = id_of(0x21, 8, false);
    sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
    sp->end_time_unix_nano = sp->start_time_unix_nano + 1;
    set_status(sp, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_UNSET, "ignored");
    return sp;
}

/* Three resources: one with service.name and two spans plus a client span, one named by faas.name
 * with two scopes, one without a resource. */
static oca_traces_req *golden_request(void)
{
    KeyValue **r1 = kvs(4, kv("service.name", v_str("Svc-A")), kv("host.name", v_str("h1")),
                        kv("shared", v_str("from-resource")), kv("pid", v_int(42)));
    ScopeSpans *s1 = new_scope("io.lib", "1.2.3", 1, kvs(1, kv("scope.attr", v_bool(true))), 3,
                               LIST(Span *, 3, golden_span(), plain_span(), client_span()));
    Span *prod = new_span("p");
    prod->span_id = id_of(0x31, 8, false);
    prod->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_PRODUCER;
    Span *cons = new_span("q");
    cons->span_id = id_of(0x41, 8, false);
    cons->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CONSUMER;
    ScopeSpans *s2a = new_scope("s1", "v1", 0, NULL, 1, LIST(Span *, 1, prod));
    ScopeSpans *s2b = new_scope("s2", NULL, 0, NULL, 1, LIST(Span *, 1, cons));
    Span *orphan = new_span("o");
    orphan->span_id = id_of(0x51, 8, false);
    ScopeSpans *s3 = new_scope(NULL, NULL, 0, NULL, 1, LIST(Span *, 1, orphan));
    return new_req(3, LIST(ResourceSpans *, 3, new_resource(4, r1, 1, LIST(ScopeSpans *, 1, s1)),
                           new_resource(1, kvs(1, kv("faas.name", v_str("Fn"))), 2,
                                        LIST(ScopeSpans *, 2, s2a, s2b)),
                           new_resource(0, NULL, 1, LIST(ScopeSpans *, 1, s3))));
}

static int setup(void **state)
{
    (void)state;
    A = oca_arena_new(4096);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    oca_arena_destroy(A);
    return 0;
}

/* A string member of o, or NULL when absent. */
static const char *js(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v))
        return NULL;
    assert_int_equal(json_object_get_type(v), json_type_string);
    return json_object_get_string(v);
}

static int64_t ji(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v))
        return -1;
    assert_int_equal(json_object_get_type(v), json_type_int);
    return json_object_get_int64(v);
}

static struct json_object *jo(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void expect_str(const char *got, const char *want, const char *what)
{
    if (!want && !got)
        return;
    if (!want || !got || strcmp(got, want) != 0)
        fail_msg("%s: got %s, want %s", what, got ? got : "(absent)", want ? want : "(absent)");
}

/* The tags of a span are exactly the pairs given (name, value, ..., NULL). */
static void expect_tags(struct json_object *span, ...)
{
    struct json_object *tags = jo(span, "tags");
    va_list ap;
    va_start(ap, span);
    int n = 0;
    for (const char *k; (k = va_arg(ap, const char *)) != NULL; n++) {
        const char *v = va_arg(ap, const char *);
        if (!tags)
            fail_msg("no tags; want %s", k);
        expect_str(js(tags, k), v, k);
    }
    va_end(ap);
    int got = tags ? json_object_object_length(tags) : 0;
    if (got != n)
        fail_msg("%d tags, want %d: %s", got, n, tags ? json_object_to_json_string(tags) : "");
}

static const char *const golden_link =
    "1112131415161718191a1b1c1d1e1f20|c1c2c3c4c5c6c7c8|x=y|{\"lk\":\"lv\"}|3";

static struct json_object *encode_json(const oca_traces_req *req)
{
    struct oca_buf out = { 0 };
    char detail[256] = "";
    int err = oca_zipkin_encode(req, OCA_ZIPKIN_JSON, "Dflt", &out, detail, sizeof(detail));
    if (err != OCA_OK)
        fail_msg("encode: %s", detail);
    struct json_object *arr = json_tokener_parse(out.data);
    if (!arr)
        fail_msg("not JSON: %s", out.data);
    oca_buf_free(&out);
    assert_int_equal(json_object_get_type(arr), json_type_array);
    return arr;
}

static void test_json_golden(void **state)
{
    (void)state;
    struct json_object *arr = encode_json(golden_request());
    assert_int_equal(json_object_array_length(arr), 6);

    struct json_object *s = json_object_array_get_idx(arr, 0);
    expect_str(js(s, "traceId"), "0102030405060708090a0b0c0d0e0f10", "traceId");
    expect_str(js(s, "id"), "a1a2a3a4a5a6a7a8", "id");
    expect_str(js(s, "parentId"), "b1b2b3b4b5b6b7b8", "parentId");
    expect_str(js(s, "name"), "get /users", "name");
    expect_str(js(s, "kind"), "SERVER", "kind");
    assert_int_equal(ji(s, "timestamp"), 1700000000123457);
    assert_int_equal(ji(s, "duration"), 2);
    assert_null(jo(s, "debug"));
    assert_null(jo(s, "shared"));
    struct json_object *le = jo(s, "localEndpoint"), *re = jo(s, "remoteEndpoint");
    assert_non_null(le);
    assert_non_null(re);
    expect_str(js(le, "serviceName"), "svc-a", "local serviceName");
    expect_str(js(le, "ipv6"), "::1", "local ipv6");
    assert_null(jo(le, "ipv4"));
    assert_null(jo(le, "port"));
    expect_str(js(re, "serviceName"), "db", "remote serviceName");
    expect_str(js(re, "ipv4"), "10.0.0.7", "remote ipv4");
    assert_int_equal(ji(re, "port"), 8080);
    struct json_object *anns = jo(s, "annotations");
    assert_non_null(anns);
    assert_int_equal(json_object_array_length(anns), 2);
    assert_int_equal(ji(json_object_array_get_idx(anns, 0), "timestamp"), 1700000000123457);
    expect_str(js(json_object_array_get_idx(anns, 0), "value"), "Started", "annotation 0");
    assert_int_equal(ji(json_object_array_get_idx(anns, 1), "timestamp"), 1700000000123458);
    expect_str(js(json_object_array_get_idx(anns, 1), "value"), "retry|{\"n\":2,\"why\":\"a\\u0026b\"}|1",
               "annotation 1");
    expect_tags(s, "host.name", "h1", "shared", "from-span", "pid", "42", "otel.library.name", "io.lib",
                "otel.library.version", "1.2.3", "scope.attr", "true", "s", "plain", "i", "-7", "d", "1.5",
                "big", "1e+21", "tiny", "1e-7", "b", "false", "bytes", "3q2+7w==", "arr", "[1,\"a\",true]",
                "map", "{\"a\":\"x<y\",\"z\":1}", "w3c.tracestate", "k=v", "error", "true",
                "otel.status_code", "STATUS_CODE_ERROR", "otel.status_description", "boom",
                "otlp.link.0", golden_link, NULL);

    s = json_object_array_get_idx(arr, 1);
    expect_str(js(s, "traceId"), "090a0b0c0d0e0f10", "64-bit traceId");
    expect_str(js(s, "id"), "0102030405060708", "id");
    assert_null(jo(s, "parentId"));
    assert_null(jo(s, "name"));
    assert_null(jo(s, "kind"));
    assert_null(jo(s, "timestamp"));
    assert_null(jo(s, "duration"));
    assert_null(jo(s, "remoteEndpoint"));
    assert_null(jo(s, "annotations"));
    expect_str(js(jo(s, "localEndpoint"), "serviceName"), "svc-a", "serviceName");
    expect_tags(s, "host.name", "h1", "shared", "from-resource", "pid", "42", "otel.library.name", "io.lib",
                "otel.library.version", "1.2.3", "scope.attr", "true", "span.kind", "internal",
                "otel.status_code", "STATUS_CODE_OK", NULL);

    s = json_object_array_get_idx(arr, 2);
    expect_str(js(s, "kind"), "CLIENT", "kind");
    assert_int_equal(ji(s, "timestamp"), 1700000000000000);
    assert_int_equal(ji(s, "duration"), 1);
    expect_tags(s, "host.name", "h1", "shared", "from-resource", "pid", "42", "otel.library.name", "io.lib",
                "otel.library.version", "1.2.3", "scope.attr", "true", NULL);

    s = json_object_array_get_idx(arr, 3);
    expect_str(js(s, "kind"), "PRODUCER", "kind");
    assert_int_equal(ji(s, "duration"), 5);
    expect_str(js(jo(s, "localEndpoint"), "serviceName"), "fn", "faas serviceName");
    expect_tags(s, "otlp.service.name.source", "faas.name", "otel.library.name", "s1", "otel.library.version",
                "v1", NULL);
    s = json_object_array_get_idx(arr, 4);
    expect_str(js(s, "kind"), "CONSUMER", "kind");
    expect_tags(s, "otlp.service.name.source", "faas.name", "otel.library.name", "s2", NULL);

    s = json_object_array_get_idx(arr, 5);
    expect_str(js(jo(s, "localEndpoint"), "serviceName"), "dflt", "default serviceName");
    assert_null(jo(s, "tags"));
    json_object_put(arr);
}

static const Zipkin__Proto3__Span__TagsEntry *tag_entry(const Zipkin__Proto3__Span *s, const char *k)
{
    for (size_t i = 0; i < s->n_tags; i++)
        if (strcmp(s->tags[i]->key, k) == 0)
            return s->tags[i];
    return NULL;
}

static void test_proto_golden(void **state)
{
    (void)state;
    oca_traces_req *req = golden_request();
    struct oca_buf out = { 0 };
    assert_int_equal(oca_zipkin_encode(req, OCA_ZIPKIN_PROTO, "Dflt", &out, NULL, 0), OCA_OK);
    Zipkin__Proto3__ListOfSpans *list =
        zipkin__proto3__list_of_spans__unpack(NULL, out.len, (const uint8_t *)out.data);
    assert_non_null(list);
    assert_int_equal(list->n_spans, 6);

    const Zipkin__Proto3__Span *s = list->spans[0];
    assert_int_equal(s->trace_id.len, 16);
    assert_memory_equal(s->trace_id.data, req->resource_spans[0]->scope_spans[0]->spans[0]->trace_id.data, 16);
    assert_int_equal(s->id.len, 8);
    assert_int_equal(s->id.data[0], 0xa1);
    assert_int_equal(s->parent_id.len, 8);
    assert_int_equal(s->parent_id.data[7], 0xb8);
    assert_int_equal(s->kind, ZIPKIN__PROTO3__SPAN__KIND__SERVER);
    assert_string_equal(s->name, "GET /Users");
    assert_int_equal(s->timestamp, 1700000000123457ull);
    assert_int_equal(s->duration, 2);
    assert_non_null(s->local_endpoint);
    assert_string_equal(s->local_endpoint->service_name, "Svc-A");
    assert_int_equal(s->local_endpoint->ipv4.len, 0);
    assert_int_equal(s->local_endpoint->ipv6.len, 16);
    assert_int_equal(s->local_endpoint->ipv6.data[15], 1);
    assert_int_equal(s->local_endpoint->port, 0);
    assert_non_null(s->remote_endpoint);
    assert_string_equal(s->remote_endpoint->service_name, "DB");
    assert_int_equal(s->remote_endpoint->ipv4.len, 4);
    assert_memory_equal(s->remote_endpoint->ipv4.data, ((uint8_t[]){ 10, 0, 0, 7 }), 4);
    assert_int_equal(s->remote_endpoint->port, 8080);
    assert_int_equal(s->n_annotations, 2);
    assert_int_equal(s->annotations[0]->timestamp, 1700000000123457ull);
    assert_string_equal(s->annotations[0]->value, "Started");
    assert_string_equal(s->annotations[1]->value, "retry|{\"n\":2,\"why\":\"a\\u0026b\"}|1");
    assert_int_equal(s->n_tags, 20);
    assert_string_equal(tag_entry(s, "otlp.link.0")->value, golden_link);
    assert_string_equal(tag_entry(s, "map")->value, "{\"a\":\"x<y\",\"z\":1}");
    assert_string_equal(tag_entry(s, "otel.status_code")->value, "STATUS_CODE_ERROR");
    assert_null(tag_entry(s, "peer.service"));
    assert_null(tag_entry(s, "service.name"));

    s = list->spans[1];
    assert_int_equal(s->trace_id.len, 16);
    assert_int_equal(s->trace_id.data[0], 0);
    assert_int_equal(s->parent_id.len, 0);
    assert_int_equal(s->kind, ZIPKIN__PROTO3__SPAN__KIND__SPAN_KIND_UNSPECIFIED);
    assert_int_equal(s->timestamp, 0);
    assert_int_equal(s->duration, 0);
    assert_null(s->remote_endpoint);
    assert_string_equal(tag_entry(s, "span.kind")->value, "internal");
    assert_int_equal(s->n_tags, 8);

    assert_int_equal(list->spans[2]->duration, 1);
    assert_int_equal(list->spans[3]->kind, ZIPKIN__PROTO3__SPAN__KIND__PRODUCER);
    assert_int_equal(list->spans[4]->kind, ZIPKIN__PROTO3__SPAN__KIND__CONSUMER);
    assert_null(tag_entry(list->spans[4], "otel.library.version"));
    assert_string_equal(list->spans[5]->local_endpoint->service_name, "Dflt");
    assert_int_equal(list->spans[5]->n_tags, 0);
    zipkin__proto3__list_of_spans__free_unpacked(list, NULL);
    oca_buf_free(&out);
}

static void test_empty_request(void **state)
{
    (void)state;
    struct oca_buf out = { 0 };
    assert_int_equal(oca_zipkin_encode(new_req(0, NULL), OCA_ZIPKIN_JSON, "x", &out, NULL, 0), OCA_OK);
    assert_string_equal(out.data, "[]");
    oca_buf_free(&out);
    assert_int_equal(oca_zipkin_encode(new_req(0, NULL), OCA_ZIPKIN_PROTO, "x", &out, NULL, 0), OCA_OK);
    assert_int_equal(out.len, 0);
    oca_buf_free(&out);
}

/* A request of one resource with service "s" holding sp alone fails; out keeps its content. */
static void expect_rejected(Span *sp, const char *why)
{
    oca_traces_req *req = new_req(1, LIST(ResourceSpans *, 1,
        new_resource(1, kvs(1, kv("service.name", v_str("s"))), 1,
                     LIST(ScopeSpans *, 1, new_scope(NULL, NULL, 0, NULL, 2, LIST(Span *, 2, new_span("ok"), sp))))));
    for (int fmt = OCA_ZIPKIN_JSON; fmt <= OCA_ZIPKIN_PROTO; fmt++) {
        struct oca_buf out = { 0 };
        oca_buf_puts(&out, "before");
        char detail[256] = "";
        assert_int_equal(oca_zipkin_encode(req, (enum oca_zipkin_format)fmt, "d", &out, detail, sizeof(detail)),
                         OCA_ERR_INVALID);
        assert_string_equal(out.data, "before");
        if (!strstr(detail, why))
            fail_msg("detail %s lacks %s", detail, why);
        oca_buf_free(&out);
    }
}

static void test_rejected_spans(void **state)
{
    (void)state;
    Span *sp = new_span("no-trace-id");
    sp->trace_id = (ProtobufCBinaryData){ 0, NULL };
    expect_rejected(sp, "TraceID is invalid");
    sp = new_span("zero-trace-id");
    memset(sp->trace_id.data, 0, 16);
    expect_rejected(sp, "TraceID is invalid");
    sp = new_span("no-span-id");
    sp->span_id = id_of(0, 8, true);
    memset(sp->span_id.data, 0, 8);
    expect_rejected(sp, "SpanID is invalid");
    sp = new_span("backwards");
    sp->end_time_unix_nano = sp->start_time_unix_nano - 1;
    expect_rejected(sp, "duration");
    sp = new_span("nan-event");
    sp->n_events = 1;
    sp->events = oca_arena_zalloc(A, sizeof(*sp->events));
    sp->events[0] = oca_arena_zalloc(A, sizeof(*sp->events[0]));
    opentelemetry__proto__trace__v1__span__event__init(sp->events[0]);
    sp->events[0]->n_attributes = 1;
    sp->events[0]->attributes = kvs(1, kv("x", v_dbl(NAN)));
    expect_rejected(sp, "unsupported value");
}

/* An empty event name with dropped attributes only, a link without ids, duplicate keys (last wins),
 * a port out of range and an IPv4-mapped IPv6 peer. */
/* Names and tag values that are not valid UTF-8 go out with each bad byte as U+FFFD (Go's JSON
 * encoder does the same); valid multi-byte text is kept. An overlong form (\xc0\xaf), a surrogate
 * (\xed\xa0\x80) and a truncated sequence are each invalid. */
static void test_invalid_utf8(void **state)
{
    (void)state;
    Span *sp = new_span("a\xff" "b\xc3\xa9");
    sp->n_attributes = 1;
    sp->attributes = kvs(1, kv("k\xc0\xaf", v_str("\xed\xa0\x80z\xe2\x82")));
    oca_traces_req *req = new_req(1, LIST(ResourceSpans *, 1,
        new_resource(0, NULL, 1, LIST(ScopeSpans *, 1, new_scope(NULL, NULL, 0, NULL, 1, LIST(Span *, 1, sp))))));
    struct json_object *arr = encode_json(req);
    struct json_object *span = json_object_array_get_idx(arr, 0);
    expect_str(js(span, "name"), "a\xef\xbf\xbd" "b\xc3\xa9", "name");
    expect_str(js(jo(span, "tags"), "k\xef\xbf\xbd\xef\xbf\xbd"),
               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "z\xef\xbf\xbd\xef\xbf\xbd", "tag");
    json_object_put(arr);
}

static void test_edges(void **state)
{
    (void)state;
    Span *sp = new_span("Edge");
    sp->n_attributes = 5;
    sp->attributes = kvs(5, kv("dup", v_str("first")), kv("dup", v_str("last")), kv("net.peer.port", v_int(70000)),
                         kv("net.peer.ip", v_str("::ffff:1.2.3.4")), kv("nan", v_dbl(NAN)));
    sp->n_events = 1;
    sp->events = oca_arena_zalloc(A, sizeof(*sp->events));
    sp->events[0] = oca_arena_zalloc(A, sizeof(*sp->events[0]));
    opentelemetry__proto__trace__v1__span__event__init(sp->events[0]);
    sp->events[0]->dropped_attributes_count = 2;
    sp->n_links = 1;
    sp->links = oca_arena_zalloc(A, sizeof(*sp->links));
    sp->links[0] = oca_arena_zalloc(A, sizeof(*sp->links[0]));
    opentelemetry__proto__trace__v1__span__link__init(sp->links[0]);
    oca_traces_req *req = new_req(1, LIST(ResourceSpans *, 1,
        new_resource(1, kvs(1, kv("k8s.deployment.name", v_str("dep"))), 1,
                     LIST(ScopeSpans *, 1, new_scope(NULL, NULL, 0, NULL, 1, LIST(Span *, 1, sp))))));
    struct json_object *arr = encode_json(req);
    struct json_object *s = json_object_array_get_idx(arr, 0);
    expect_str(js(json_object_array_get_idx(jo(s, "annotations"), 0), "value"), "|{}|2", "event");
    struct json_object *re = jo(s, "remoteEndpoint");
    assert_non_null(re);
    assert_null(jo(re, "serviceName"));
    expect_str(js(re, "ipv6"), "1.2.3.4", "mapped ipv6");
    assert_null(jo(re, "port"));
    expect_str(js(jo(s, "localEndpoint"), "serviceName"), "dep", "k8s serviceName");
    expect_tags(s, "otlp.service.name.source", "k8s.deployment.name", "dup", "last",
                "nan", "json: unsupported value: NaN", "otlp.link.0", "|||{}|0", NULL);
    json_object_put(arr);
}

static void expect_text(const AnyValue *v, const char *want)
{
    struct oca_buf b = { 0 };
    oca_anyvalue_append_string(&b, v);
    expect_str(b.data ? b.data : "", want, want);
    oca_buf_free(&b);
}

static void test_value_strings(void **state)
{
    (void)state;
    expect_text(NULL, "");
    expect_text(v_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET), "");
    expect_text(v_int(INT64_MIN), "-9223372036854775808");
    expect_text(v_bool(true), "true");
    expect_text(v_dbl(0.1), "0.1");
    expect_text(v_dbl(-0.0), "-0");
    expect_text(v_dbl(0), "0");
    expect_text(v_dbl(123456789), "123456789");
    expect_text(v_dbl(1e20), "100000000000000000000");
    expect_text(v_dbl(1e21), "1e+21");
    expect_text(v_dbl(1.5e300), "1.5e+300");
    expect_text(v_dbl(0.000001), "0.000001");
    expect_text(v_dbl(1.25e-7), "1.25e-7");
    expect_text(v_dbl(1e-10), "1e-10");
    expect_text(v_dbl(5e-324), "5e-324");
    expect_text(v_dbl(0.30000000000000004), "0.30000000000000004");
    expect_text(v_dbl(-2.5), "-2.5");
    expect_text(v_dbl(INFINITY), "json: unsupported value: +Inf");
    expect_text(v_dbl(-INFINITY), "json: unsupported value: -Inf");
    expect_text(v_bytes("a", 1), "YQ==");
    expect_text(v_bytes("ab", 2), "YWI=");
    expect_text(v_bytes("", 0), "");
    expect_text(v_arr(0), "[]");
    expect_text(v_map(0, NULL), "{}");
    expect_text(v_arr(3, v_dbl(1e21), v_new(0), v_bytes("ab", 2)), "[1e+21,null,\"YWI=\"]");
    expect_text(v_arr(1, v_dbl(NAN)), "");
    /* Go escapes quotes, backslashes and control characters, U+2028/9 and invalid UTF-8. */
    expect_text(v_arr(1, v_str("q\"b\\n\n\t\x01<&>\xe2\x80\xa8\xff\xc3\xa9")),
                 "[\"q\\\"b\\\\n\\n\\t\\u0001<&>\\u2028\\ufffd\xc3\xa9\"]");
    expect_text(v_map(3, kvs(3, kv("b", v_arr(1, v_map(1, kvs(1, kv("y", v_bool(false)))))), kv("a", v_int(1)),
                              kv("a", v_int(2)))),
                 "{\"a\":2,\"b\":[{\"y\":false}]}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proto_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_spans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_strings, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
