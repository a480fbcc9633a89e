/* The opencensus receiver (default localhost:55678): the OpenCensus Agent protocol, as the
 * ocagent exporters (Go, Java, Python, Node) speak it. TraceService/Export and MetricsService/Export
 * are long-lived bidirectional gRPC streams whose first message carries the Node; later messages
 * inherit the last Node and Resource. Each message is translated to OTLP (translate.c) and handed
 * on; while the pipeline or the memory budget refuses, the stream is paused, so the sender is held
 * back by HTTP/2 flow control, with at most one message per stream kept. The same port serves the
 * grpc-gateway JSON form (POST /v1/trace, /v1/metrics) for browsers and plain HTTP clients. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "base/budget.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "codec/otlp_json.h"
#include "config/diag.h"
#include "config/fields.h"
#include "net/grpc.h"
#include "net/http_server.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"
#include "receivers/opencensus/translate.h"

/* How often a paused stream tries its held message again. */
#define RETRY_MS 50
/* Seconds a refused HTTP client is asked to wait. */
#define RETRY_AFTER "1"

struct oc_config {
    struct oca_http_server_config server;
    uint32_t max_recv_msg_size_mib;
    struct oca_strlist cors_allowed_origins;
};

static const struct oca_field oc_fields[] = {
    OCA_HTTP_SERVER_FIELDS(struct oc_config, server, "localhost:55678"),
    OCA_FIELD_U32(struct oc_config, max_recv_msg_size_mib, "4", 1, 4095,
                  "Largest gRPC stream message in MiB (compressed and decompressed); a larger one ends "
                  "the stream with RESOURCE_EXHAUSTED."),
    OCA_FIELD_STRING_LIST(struct oc_config, cors_allowed_origins,
                          "Origins browsers may POST JSON from (CORS) to /v1/trace and /v1/metrics; one "
                          "'*' is a wildcard (https://*.example.com), \"*\" alone allows any. Empty: CORS off."),
    OCA_FIELD_END,
};

enum { M_TRACE_EXPORT, M_METRICS_EXPORT, M_TRACE_CONFIG, M_COUNT };

static const char *const method_paths[M_COUNT] = {
    "/opencensus.proto.agent.trace.v1.TraceService/Export",
    "/opencensus.proto.agent.metrics.v1.MetricsService/Export",
    "/opencensus.proto.agent.trace.v1.TraceService/Config",
};

struct oc_stream;

struct oc_rx {
    struct oca_component *self;
    const struct oc_config *cfg;
    struct oca_http_server *server;
    struct oca_grpc_router router;
    struct oca_grpc_method methods[M_COUNT];
    uv_timer_t retry;                   /* wakes paused streams; live from start to shutdown */
    bool timer_live, timer_closed, server_closed;
    struct oc_stream *stalled;          /* paused streams holding a refused message */
    bool drop_logged;
    struct oca_waiters waiters;
    bool shutting_down, shut_down;
};

/* One Export stream: the Node and Resource to inherit (packed, as they came) and the message
 * held while the pipeline refuses. */
struct oc_stream {
    struct oc_rx *rx;
    struct oca_grpc_call *call;
    enum oca_signal sig;
    uint8_t *node, *resource;
    size_t node_len, resource_len;
    bool has_node, has_resource;
    uint8_t *pending;
    size_t pending_len;
    struct oc_stream *next_stalled;
    bool stalled;
    uint64_t messages;
};

/* Answer of one message. */
struct outcome {
    int err;                    /* OCA_OK, a retryable code (try later) or a permanent one */
    char why[256];
};

static void set_outcome(struct outcome *o, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_outcome(struct outcome *o, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    o->err = err;
    vsnprintf(o->why, sizeof(o->why), fmt, ap);
    va_end(ap);
}

static void save_packed(const ProtobufCMessage *m, uint8_t **buf, size_t *len, bool *has)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    free(*buf);
    *buf = oca_xmalloc(n ? n : 1);
    *len = protobuf_c_message_pack(m, *buf);
    *has = true;
}

static ProtobufCMessage *unpack_in_arena(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                                      struct oca_arena *a)
{
    ProtobufCAllocator alloc = { .alloc = oca_arena_alloc_cb, .free = oca_arena_free_cb, .allocator_data = a };
    return protobuf_c_message_unpack(d, &alloc, len, buf);
}

static const ProtobufCMessageDescriptor *request_descriptor(enum oca_signal sig)
{
    return sig == OCA_SIGNAL_TRACES ? &opencensus__proto__agent__trace__v1__export_trace_service_request__descriptor
                                    : &opencensus__proto__agent__metrics__v1__export_metrics_service_request__descriptor;
}

/* Decodes one OpenCensus request (protobuf or grpc-gateway JSON), resolves its Node and Resource
 * against the stream's (st may be NULL: a lone HTTP request), translates and hands it on. The
 * memory budget is charged before decoding with the same estimate the otlp receiver uses. */
static void export_one(struct oc_rx *rx, struct oc_stream *st, enum oca_signal sig, enum oca_encoding enc,
                       const uint8_t *data, size_t len, struct outcome *o)
{
    struct oca_component *self = rx->self;
    o->err = OCA_OK;
    o->why[0] = '\0';
    size_t need = oca_budget_request_need(len);
    int err = oca_budget_charge(need);
    if (err) {
        set_outcome(o, err, "%s", err == OCA_ERR_TOO_LARGE ? "message larger than the agent's memory budget"
                                                            : "memory budget exhausted; retry later");
        return;
    }
    struct oca_batch *b = oca_batch_new(sig);
    ProtobufCMessage *req = NULL;
    if (enc == OCA_ENCODING_JSON) {
        char detail[200] = "";
        if (oca_otlp_json_decode(request_descriptor(sig), (const char *)data, len, b->arena, &req, detail,
                                 sizeof(detail)) != OCA_OK) {
            set_outcome(o, OCA_ERR_JSON, "malformed OpenCensus JSON request: %s", detail);
            goto done;
        }
    } else {
        req = unpack_in_arena(request_descriptor(sig), data, len, b->arena);
        if (!req) {
            set_outcome(o, OCA_ERR_DECODE, "malformed OpenCensus %s request: not a valid protobuf message",
                        sig == OCA_SIGNAL_TRACES ? "trace" : "metrics");
            goto done;
        }
    }
    Opencensus__Proto__Agent__Common__V1__Node *node;
    Opencensus__Proto__Resource__V1__Resource *resource;
    if (sig == OCA_SIGNAL_TRACES) {
        Opencensus__Proto__Agent__Trace__V1__ExportTraceServiceRequest *r = (void *)req;
        node = r->node;
        resource = r->resource;
    } else {
        Opencensus__Proto__Agent__Metrics__V1__ExportMetricsServiceRequest *r = (void *)req;
        node = r->node;
        resource = r->resource;
    }
    if (st) {
        if (node)
            save_packed(&node->base, &st->node, &st->node_len, &st->has_node);
        else if (!st->has_node) {
            set_outcome(o, OCA_ERR_INVALID,
                        "protocol violation: the first message of an OpenCensus %s Export stream must carry a Node",
                        sig == OCA_SIGNAL_TRACES ? "trace" : "metrics");
            goto done;
        } else
            node = (void *)unpack_in_arena(&opencensus__proto__agent__common__v1__node__descriptor, st->node, st->node_len,
                                        b->arena);
        if (resource)
            save_packed(&resource->base, &st->resource, &st->resource_len, &st->has_resource);
        else if (st->has_resource)
            resource = (void *)unpack_in_arena(&opencensus__proto__resource__v1__resource__descriptor, st->resource,
                                            st->resource_len, b->arena);
    }
    struct oca_opencensus_drops drops = { 0, NULL };
    if (sig == OCA_SIGNAL_TRACES)
        b->traces = oca_opencensus_traces((void *)req, node, resource, b->arena, &drops);
    else
        b->metrics = oca_opencensus_metrics((void *)req, node, resource, b->arena, &drops);
    b->items = oca_batch_count_items(sig, b->msg);
    if (drops.items) {
        oca_counters_add(self->counters, OCA_EDGE_DROPPED, sig, drops.items);
        if (!rx->drop_logged) {
            rx->drop_logged = true;
            oca_log_warn(self->id, "dropped %llu OpenCensus %s that cannot be mapped to OTLP: %s (logged once, counted "
                         "as dropped from now on)", (unsigned long long)drops.items,
                         sig == OCA_SIGNAL_TRACES ? "spans" : "metric points", drops.reason);
        }
    }
    /* The estimate goes back; the batch holds what its arena really reserved. */
    oca_budget_release(need);
    need = 0;
    b->charged = oca_arena_reserved(b->arena);
    oca_budget_force(b->charged);
    if (b->items == 0)
        goto done;
    err = oca_next_consume(self, sig, b);
    if (err && oca_err_retryable(err))
        set_outcome(o, err, "the pipeline refused the data: %s; retry later", oca_err_message(err));
    else if (err)
        set_outcome(o, OCA_ERR_INVALID, "the pipeline refused the data: %s", oca_err_message(err));
done:
    oca_batch_unref(b);
    if (need)
        oca_budget_release(need);
}

/* gRPC streams. */

static void on_retry(uv_timer_t *t);

static void stall(struct oc_stream *st, const uint8_t *msg, size_t len)
{
    struct oc_rx *rx = st->rx;
    st->pending = oca_xmalloc(len ? len : 1);
    memcpy(st->pending, msg, len);
    st->pending_len = len;
    oca_grpc_call_pause(st->call);
    st->stalled = true;
    st->next_stalled = rx->stalled;
    rx->stalled = st;
    if (rx->timer_live && !uv_is_active((uv_handle_t *)&rx->retry))
        uv_timer_start(&rx->retry, on_retry, RETRY_MS, RETRY_MS);
}

static void unstall(struct oc_stream *st)
{
    for (struct oc_stream **p = &st->rx->stalled; *p; p = &(*p)->next_stalled)
        if (*p == st) {
            *p = st->next_stalled;
            break;
        }
    st->stalled = false;
    st->next_stalled = NULL;
}

/* Handles one message; true when the call goes on (accepted, or held for a retry). */
static bool handle(struct oc_stream *st, const uint8_t *msg, size_t len, bool held)
{
    struct outcome o;
    export_one(st->rx, st, st->sig, OCA_ENCODING_PROTO, msg, len, &o);
    if (o.err == OCA_OK) {
        st->messages++;
        return true;
    }
    if (oca_err_retryable(o.err)) {
        if (!held)
            stall(st, msg, len);
        return true;
    }
    oca_log_debug(st->rx->self->id, "OpenCensus stream from %s ended: %s",
                  oca_http_stream_peer(oca_grpc_call_stream(st->call)), o.why);
    oca_grpc_finish(st->call, oca_err_grpc_status(o.err), o.why, NULL, 0);
    return false;
}

static void on_retry(uv_timer_t *t)
{
    struct oc_rx *rx = t->data;
    struct oc_stream *list = rx->stalled;
    rx->stalled = NULL;
    while (list) {
        struct oc_stream *st = list;
        list = st->next_stalled;
        st->next_stalled = NULL;
        st->stalled = false;
        struct outcome o;
        export_one(rx, st, st->sig, OCA_ENCODING_PROTO, st->pending, st->pending_len, &o);
        if (o.err && oca_err_retryable(o.err)) {
            st->stalled = true;
            st->next_stalled = rx->stalled;
            rx->stalled = st;
            continue;
        }
        free(st->pending);
        st->pending = NULL;
        if (o.err) {
            oca_grpc_finish(st->call, oca_err_grpc_status(o.err), o.why, NULL, 0);
            continue;
        }
        st->messages++;
        oca_grpc_call_resume(st->call);
    }
    if (!rx->stalled)
        uv_timer_stop(&rx->retry);
}

static void on_export_start(struct oca_grpc_call *call)
{
    struct oc_rx *rx = oca_grpc_call_method(call)->data;
    const struct oca_grpc_method *m = oca_grpc_call_method(call);
    enum oca_signal sig = m == &rx->methods[M_METRICS_EXPORT] ? OCA_SIGNAL_METRICS : OCA_SIGNAL_TRACES;
    if (!rx->self->next[sig]) {
        oca_grpc_finish(call, OCA_GRPC_UNIMPLEMENTED, "unknown service: no pipeline takes these data", NULL, 0);
        return;
    }
    struct oc_stream *st = oca_xcalloc(1, sizeof(*st));
    st->rx = rx;
    st->call = call;
    st->sig = sig;
    oca_grpc_call_set_data(call, st);
}

static void on_export_message(struct oca_grpc_call *call, const uint8_t *msg, size_t len)
{
    struct oc_stream *st = oca_grpc_call_data(call);
    handle(st, msg ? msg : (const uint8_t *)"", len, false);
}

static void on_half_close(struct oca_grpc_call *call)
{
    if (!oca_grpc_call_done(call))
        oca_grpc_finish(call, OCA_GRPC_OK, NULL, NULL, 0);
}

static void on_export_close(struct oca_grpc_call *call)
{
    struct oc_stream *st = oca_grpc_call_data(call);
    if (!st)
        return;
    if (st->stalled)
        unstall(st);
    free(st->pending);
    free(st->node);
    free(st->resource);
    free(st);
}

/* TraceService/Config: the agent has no trace config to push, so the stream stays open quietly
 * (messages from the client are read and ignored) until the client ends it. */
static void on_config_message(struct oca_grpc_call *call, const uint8_t *msg, size_t len)
{
    (void)call, (void)msg, (void)len;
}

/* JSON over HTTP (grpc-gateway's mapping of the same requests). */

static bool origin_allowed(const struct oc_config *cfg, const char *origin)
{
    if (!origin || !*origin)
        return false;
    for (size_t i = 0; i < cfg->cors_allowed_origins.n; i++) {
        const char *p = cfg->cors_allowed_origins.items[i];
        if (strcmp(p, "*") == 0)
            return true;
        const char *star = strchr(p, '*');
        if (!star) {
            if (strcasecmp(p, origin) == 0)
                return true;
            continue;
        }
        size_t pre = (size_t)(star - p), suf = strlen(star + 1), n = strlen(origin);
        if (n >= pre + suf && strncasecmp(origin, p, pre) == 0 && strcasecmp(origin + n - suf, star + 1) == 0)
            return true;
    }
    return false;
}

static int json_signal(const char *path, enum oca_signal *sig)
{
    if (strcmp(path, "/v1/trace") == 0)
        *sig = OCA_SIGNAL_TRACES;
    else if (strcmp(path, "/v1/metrics") == 0)
        *sig = OCA_SIGNAL_METRICS;
    else
        return OCA_ERR_NOT_FOUND;
    return OCA_OK;
}

static void respond_json(struct oc_rx *rx, struct oca_http_stream *s, int status, const char *body, bool retry)
{
    struct oca_http_header h[6];
    size_t n = 0;
    h[n++] = (struct oca_http_header){ "Content-Type", 12, "application/json", 16 };
    if (retry)
        h[n++] = (struct oca_http_header){ "Retry-After", 11, RETRY_AFTER, strlen(RETRY_AFTER) };
    const char *origin = oca_http_stream_header(s, "origin");
    if (rx->cfg->cors_allowed_origins.n) {
        h[n++] = (struct oca_http_header){ "Vary", 4, "Origin", 6 };
        if (origin_allowed(rx->cfg, origin))
            h[n++] = (struct oca_http_header){ "Access-Control-Allow-Origin", 27, origin, strlen(origin) };
    }
    oca_http_respond(s, status, h, n, body, strlen(body));
}

static void on_http_headers(struct oca_http_stream *s)
{
    struct oc_rx *rx = oca_http_stream_handler_data(s);
    if (oca_grpc_is_grpc(s)) {
        oca_grpc_route_headers(&rx->router, s);
        return;
    }
    const char *method = oca_http_stream_method(s);
    enum oca_signal sig;
    if (json_signal(oca_http_stream_path(s), &sig) != OCA_OK || !rx->self->next[sig]) {
        respond_json(rx, s, 404, "{\"code\":5,\"message\":\"Not Found\"}", false);
        return;
    }
    if (strcmp(method, "OPTIONS") == 0) {
        const char *origin = oca_http_stream_header(s, "origin");
        const char *req_headers = oca_http_stream_header(s, "access-control-request-headers");
        struct oca_http_header h[5];
        size_t n = 0;
        h[n++] = (struct oca_http_header){ "Vary", 4, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers", 70 };
        if (origin_allowed(rx->cfg, origin)) {
            h[n++] = (struct oca_http_header){ "Access-Control-Allow-Origin", 27, origin, strlen(origin) };
            h[n++] = (struct oca_http_header){ "Access-Control-Allow-Methods", 28, "POST", 4 };
            if (req_headers && *req_headers)
                h[n++] = (struct oca_http_header){ "Access-Control-Allow-Headers", 28, req_headers, strlen(req_headers) };
        }
        oca_http_respond(s, 204, h, n, NULL, 0);
        return;
    }
    if (strcmp(method, "POST") != 0) {
        struct oca_http_header allow = { "Allow", 5, "POST", 4 };
        oca_http_respond(s, 405, &allow, 1, NULL, 0);
        return;
    }
    const char *ct = oca_http_stream_header(s, "content-type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
        respond_json(rx, s, 415, "{\"code\":3,\"message\":\"Content-Type must be application/json\"}", false);
        return;
    }
    if (oca_budget_admit() != OCA_OK) {
        respond_json(rx, s, 503, "{\"code\":14,\"message\":\"memory budget exhausted; retry later\"}", true);
        return;
    }
}

static void on_http_end(struct oca_http_stream *s, const uint8_t *body, size_t len)
{
    struct oc_rx *rx = oca_http_stream_handler_data(s);
    enum oca_signal sig = OCA_SIGNAL_TRACES;
    json_signal(oca_http_stream_path(s), &sig);
    struct outcome o;
    export_one(rx, NULL, sig, OCA_ENCODING_JSON, body ? body : (const uint8_t *)"", len, &o);
    if (o.err == OCA_OK) {
        respond_json(rx, s, 200, "{}", false);
        return;
    }
    struct oca_json_msg {
        char text[400];
    } m;
    char esc[300];
    size_t k = 0;
    for (const char *p = o.why; *p && k + 2 < sizeof(esc); p++) {
        if (*p == '"' || *p == '\\')
            esc[k++] = '\\';
        esc[k++] = (unsigned char)*p < 0x20 ? ' ' : *p;
    }
    esc[k] = '\0';
    snprintf(m.text, sizeof(m.text), "{\"code\":%d,\"message\":\"%s\"}", oca_err_grpc_status(o.err), esc);
    respond_json(rx, s, oca_err_http_status(o.err), m.text, oca_err_retryable(o.err));
}

static const struct oca_http_handler http_handler = {
    .on_headers = on_http_headers,
    .on_end = on_http_end,
};

/* Lifecycle. */

static int oc_validate(const void *cfgp, struct oca_diag *diag)
{
    const struct oc_config *cfg = cfgp;
    return oca_http_server_config_validate(&cfg->server, "", diag);
}

static int oc_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    struct oc_rx *rx = oca_xcalloc(1, sizeof(*rx));
    rx->self = self;
    rx->cfg = self->config;
    for (int i = 0; i < M_COUNT; i++) {
        rx->methods[i].path = method_paths[i];
        rx->methods[i].data = rx;
        rx->methods[i].on_half_close = on_half_close;
    }
    for (int i = M_TRACE_EXPORT; i <= M_METRICS_EXPORT; i++) {
        rx->methods[i].on_start = on_export_start;
        rx->methods[i].on_message = on_export_message;
        rx->methods[i].on_close = on_export_close;
    }
    rx->methods[M_TRACE_CONFIG].on_message = on_config_message;
    rx->router.methods = rx->methods;
    rx->router.n_methods = M_COUNT;
    rx->router.max_recv_msg_size = (uint64_t)rx->cfg->max_recv_msg_size_mib << 20;
    rx->router.data = NULL;
    rx->router.who = self->id;
    self->state = rx;
    return OCA_OK;
}

static int oc_start(struct oca_component *self, uv_loop_t *loop)
{
    struct oc_rx *rx = self->state;
    uv_timer_init(loop, &rx->retry);
    rx->retry.data = rx;
    rx->timer_live = true;
    rx->server = oca_http_server_new(loop, &rx->cfg->server, &http_handler, rx, self->id);
    int err = oca_http_server_start(rx->server);
    if (err)
        return err;
    oca_log_info(self->id, "OpenCensus listening on %s:%u: gRPC streams and HTTP/JSON",
                 rx->cfg->server.endpoint.host[0] ? rx->cfg->server.endpoint.host : "*",
                 oca_http_server_port(rx->server));
    return OCA_OK;
}

static void maybe_done(struct oc_rx *rx)
{
    if ((rx->server && !rx->server_closed) || (rx->timer_live && !rx->timer_closed))
        return;
    rx->shut_down = true;
    oca_waiters_notify(&rx->waiters, rx->self);
}

static void on_timer_closed(uv_handle_t *h);

static void on_server_closed(struct oca_http_server *srv, void *arg)
{
    struct oc_rx *rx = arg;
    (void)srv;
    rx->server_closed = true;
    /* Every stream has had its on_close by now, so none is left to retry. */
    if (rx->timer_live)
        uv_close((uv_handle_t *)&rx->retry, on_timer_closed);
    else
        maybe_done(rx);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct oc_rx *rx = h->data;
    rx->timer_closed = true;
    maybe_done(rx);
}

static void oc_shutdown(struct oca_component *self, oca_done_cb done)
{
    struct oc_rx *rx = self->state;
    oca_waiters_add(&rx->waiters, done);
    if (rx->shut_down) {
        oca_waiters_notify(&rx->waiters, self);
        return;
    }
    if (rx->shutting_down)
        return;
    rx->shutting_down = true;
    if (rx->server)
        oca_http_server_close(rx->server, on_server_closed, rx);
    else if (rx->timer_live)
        uv_close((uv_handle_t *)&rx->retry, on_timer_closed);
    else
        maybe_done(rx);
}

static void oc_destroy(struct oca_component *self)
{
    struct oc_rx *rx = self->state;
    if (!rx)
        return;
    if (rx->server)
        oca_http_server_free(rx->server);
    free(rx->waiters.cbs);
    free(rx);
    self->state = NULL;
}

const struct oca_component_type oca_opencensus_receiver = {
    .name = "opencensus",
    .kind = OCA_RECEIVER,
    .signals = OCA_TRACES | OCA_METRICS,
    .config_size = sizeof(struct oc_config),
    .fields = oc_fields,
    .doc = "Receives the OpenCensus Agent protocol (gRPC Export streams and their HTTP/JSON form) from "
           "the OpenCensus exporters, translated to OTLP.",
    .validate = oc_validate,
    .create = oc_create,
    .start = oc_start,
    .shutdown = oc_shutdown,
    .destroy = oc_destroy,
};
