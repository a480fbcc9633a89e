/* The otlp receiver: OTLP over gRPC (default localhost:4317) and HTTP (default localhost:4318),
 * with the Collector's config keys. Each configured protocol is one listener of net/http_server.h,
 * and each listener serves both protocols, told apart per request by content-type (application/grpc
 * goes to the gRPC router, anything else is OTLP/HTTP), so a client pointed at the wrong port still
 * gets through. The request handling lives in http.c, grpc.c, body.c and export.c (see otlp.h). */
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/diag.h"
#include "config/fields.h"
#include "pipeline/component.h"
#include "receivers/otlp/otlp.h"

static const struct oca_field cors_fields[] = {
    OCA_FIELD_STRING_LIST(struct oca_otlp_cors_config, allowed_origins,
                          "Origins browsers may send from (CORS), e.g. https://app.example.com; one '*' is a "
                          "wildcard (https://*.example.com), \"*\" alone allows any origin. Empty: CORS off."),
    OCA_FIELD_STRING_LIST(struct oca_otlp_cors_config, allowed_headers,
                          "Request headers allowed besides Accept, Accept-Language, Content-Language, "
                          "Content-Type and Origin; \"*\" allows any."),
    OCA_FIELD_U32(struct oca_otlp_cors_config, max_age, "0", 0, 86400,
                  "Seconds a browser may cache a preflight answer (Access-Control-Max-Age); 0 leaves the "
                  "header out."),
    OCA_FIELD_END,
};

static const struct oca_field grpc_fields[] = {
    OCA_HTTP_SERVER_FIELDS(struct oca_otlp_grpc_config, server, "localhost:4317"),
    OCA_FIELD_U32(struct oca_otlp_grpc_config, max_recv_msg_size_mib, "4", 1, 4095,
                  "Largest gRPC request message in MiB (compressed and decompressed); a larger one is "
                  "answered RESOURCE_EXHAUSTED. Also applies to gRPC requests on the http listener."),
    OCA_FIELD_BOOL(struct oca_otlp_grpc_config, include_metadata, "false",
                   "Keep the request's headers (gRPC metadata) with its data for later processors, as "
                   "the Collector's client metadata."),
    OCA_FIELD_END,
};

static const struct oca_field http_fields[] = {
    OCA_HTTP_SERVER_FIELDS(struct oca_otlp_http_config, server, "localhost:4318"),
    OCA_FIELD_STRING(struct oca_otlp_http_config, traces_url_path, "/v1/traces",
                     "URL path of trace exports (a leading / is added when missing)."),
    OCA_FIELD_STRING(struct oca_otlp_http_config, metrics_url_path, "/v1/metrics",
                     "URL path of metric exports (a leading / is added when missing)."),
    OCA_FIELD_STRING(struct oca_otlp_http_config, logs_url_path, "/v1/logs",
                     "URL path of log exports (a leading / is added when missing)."),
    OCA_FIELD_SECTION(struct oca_otlp_http_config, cors, struct oca_otlp_cors_config, cors_fields,
                      "Cross-origin requests from browsers (answers preflights and adds the "
                      "Access-Control-* headers); off while allowed_origins is empty."),
    OCA_FIELD_BOOL(struct oca_otlp_http_config, include_metadata, "false",
                   "Keep the request's HTTP headers with its data for later processors, as the "
                   "Collector's client metadata."),
    OCA_FIELD_END,
};

static const struct oca_field protocols_fields[] = {
    OCA_FIELD_OPT_SECTION(struct oca_otlp_protocols, grpc, struct oca_otlp_grpc_config, grpc_fields, grpc_present,
                          "OTLP/gRPC listener; on when this key is written (an empty value takes the "
                          "defaults). It serves OTLP/HTTP on the default URL paths too."),
    OCA_FIELD_OPT_SECTION(struct oca_otlp_protocols, http, struct oca_otlp_http_config, http_fields, http_present,
                          "OTLP/HTTP listener (protobuf and JSON); on when this key is written (an empty "
                          "value takes the defaults). It serves OTLP/gRPC too."),
    OCA_FIELD_END,
};

static const struct oca_field otlp_fields[] = {
    OCA_FIELD_SECTION(struct oca_otlp_config, protocols, struct oca_otlp_protocols, protocols_fields,
                      "The protocols to serve; at least one."),
    OCA_FIELD_END,
};

static const char *const default_paths[OCA_SIGNAL_COUNT] = { "/v1/traces", "/v1/metrics", "/v1/logs" };
static const char *const path_keys[OCA_SIGNAL_COUNT] = {
    "protocols.http.traces_url_path", "protocols.http.metrics_url_path", "protocols.http.logs_url_path",
};

static const char *http_path(const struct oca_otlp_http_config *h, int sig)
{
    return sig == OCA_SIGNAL_TRACES ? h->traces_url_path : sig == OCA_SIGNAL_METRICS ? h->metrics_url_path
                                                                                     : h->logs_url_path;
}

/* The path as served: with a leading '/', as the Collector's sanitizeURLPath makes it. */
static char *clean_path(const char *p)
{
    if (p[0] == '/')
        return oca_xstrdup(p);
    size_t n = strlen(p);
    char *s = oca_xmalloc(n + 2);
    s[0] = '/';
    memcpy(s + 1, p, n + 1);
    return s;
}

static int otlp_validate(const void *cfgp, struct oca_diag *diag)
{
    const struct oca_otlp_config *cfg = cfgp;
    const struct oca_otlp_protocols *p = &cfg->protocols;
    int rc = OCA_OK;
    if (!p->grpc_present && !p->http_present) {
        oca_diag_field_error(diag, "protocols", "must specify at least one protocol when using the OTLP receiver");
        return OCA_ERR_CONFIG;
    }
    if (p->grpc_present && oca_http_server_config_validate(&p->grpc.server, "protocols.grpc", diag) != OCA_OK)
        rc = OCA_ERR_CONFIG;
    if (!p->http_present)
        return rc;
    if (oca_http_server_config_validate(&p->http.server, "protocols.http", diag) != OCA_OK)
        rc = OCA_ERR_CONFIG;
    for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++) {
        const char *path = http_path(&p->http, sig);
        if (!path || !*path || path[strcspn(path, " \t\r\n?#")] != '\0') {
            oca_diag_field_error(diag, path_keys[sig], "must be a URL path without spaces, query or fragment");
            rc = OCA_ERR_CONFIG;
            continue;
        }
        for (int other = 0; other < sig; other++) {
            const char *o = http_path(&p->http, other);
            if (o && strcmp(o + (o[0] == '/'), path + (path[0] == '/')) == 0) {
                oca_diag_field_error(diag, path_keys[sig], "is the same path as %s", path_keys[other] + 15);
                rc = OCA_ERR_CONFIG;
            }
        }
    }
    return rc;
}

static void listener_init(struct oca_otlp_rx *rx, const char *name, const struct oca_http_server_config *server,
                          const struct oca_otlp_http_config *http, bool include_metadata, uint64_t max_recv)
{
    struct oca_otlp_listener *l = &rx->listeners[rx->n_listeners++];
    memset(l, 0, sizeof(*l));
    l->rx = rx;
    l->name = name;
    l->server_cfg = server;
    for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++)
        l->paths[sig] = http ? clean_path(http_path(http, sig)) : oca_xstrdup(default_paths[sig]);
    l->cors = http ? &http->cors : NULL;
    l->include_metadata = include_metadata;
    oca_otlp_grpc_setup(rx, l, max_recv);
}

static int otlp_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    const struct oca_otlp_config *cfg = self->config;
    const struct oca_otlp_protocols *p = &cfg->protocols;
    struct oca_otlp_rx *rx = oca_xcalloc(1, sizeof(*rx));
    rx->self = self;
    rx->cfg = cfg;
    /* gRPC requests on either listener take the grpc section's message limit, or gRPC's 4 MiB
     * when that section is absent. */
    uint64_t max_recv = (uint64_t)(p->grpc_present ? p->grpc.max_recv_msg_size_mib : 4) << 20;
    if (p->grpc_present)
        listener_init(rx, "grpc", &p->grpc.server, NULL, p->grpc.include_metadata, max_recv);
    if (p->http_present)
        listener_init(rx, "http", &p->http.server, &p->http, p->http.include_metadata, max_recv);
    self->state = rx;
    return OCA_OK;
}

static int otlp_start(struct oca_component *self, uv_loop_t *loop)
{
    struct oca_otlp_rx *rx = self->state;
    rx->loop = loop;
    /* With one CPU (say, pinned by taskset) the pool would only add two thread switches per
     * request; libuv counts the CPUs the process may run on. */
    unsigned cpus = uv_available_parallelism();
    rx->offload_min = cpus > 1 ? OCA_OTLP_OFFLOAD_MIN : SIZE_MAX;
    rx->max_jobs = cpus > 1 ? cpus - 1 : 0;
    oca_otlp_pool_start(rx, loop);
    for (size_t i = 0; i < rx->n_listeners; i++) {
        struct oca_otlp_listener *l = &rx->listeners[i];
        l->server = oca_http_server_new(loop, l->server_cfg, &oca_otlp_http_handler, l, self->id);
        int err = oca_http_server_start(l->server);
        if (err)
            return err;
        l->started = true;
        oca_log_info(self->id, "OTLP (%s section) listening on %s:%u: gRPC and HTTP", l->name,
                     l->server_cfg->endpoint.host[0] ? l->server_cfg->endpoint.host : "*",
                     oca_http_server_port(l->server));
    }
    return OCA_OK;
}

void oca_otlp_maybe_done(struct oca_otlp_rx *rx)
{
    if (!rx->shutting_down || rx->closing > 0 || rx->jobs > 0 || rx->runs > 0 || oca_otlp_pool_close(rx))
        return;
    rx->shut_down = true;
    oca_waiters_notify(&rx->waiters, rx->self);
}

static void on_server_closed(struct oca_http_server *srv, void *arg)
{
    struct oca_otlp_listener *l = arg;
    (void)srv;
    l->closed = true;
    l->rx->closing--;
    oca_otlp_maybe_done(l->rx);
}

/* Stops listening and closes every connection; requests in flight are abandoned (their clients
 * retry), while whatever was already handed on drains downstream. Decodings still on the thread
 * pool finish first and hand their batches on (their answers have nowhere to go), so nothing
 * reaches the pipeline after done. done fires once per call, when every socket is closed and every
 * job is finished. */
static void otlp_shutdown(struct oca_component *self, oca_done_cb done)
{
    struct oca_otlp_rx *rx = self->state;
    oca_waiters_add(&rx->waiters, done);
    if (!rx->shutting_down) {
        rx->shutting_down = true;
        for (size_t i = 0; i < rx->n_listeners; i++) {
            struct oca_otlp_listener *l = &rx->listeners[i];
            if (!l->server)
                continue;
            rx->closing++;
            oca_http_server_close(l->server, on_server_closed, l);
        }
    }
    oca_otlp_maybe_done(rx);
}

static void otlp_destroy(struct oca_component *self)
{
    struct oca_otlp_rx *rx = self->state;
    if (!rx)
        return;
    for (size_t i = 0; i < rx->n_listeners; i++) {
        struct oca_otlp_listener *l = &rx->listeners[i];
        if (l->server)
            oca_http_server_free(l->server);
        for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++)
            free(l->paths[sig]);
    }
    free(rx->waiters.cbs);
    free(rx);
    self->state = NULL;
}

const struct oca_component_type oca_otlp_receiver = {
    .name = "otlp",
    .kind = OCA_RECEIVER,
    .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
    .config_size = sizeof(struct oca_otlp_config),
    .fields = otlp_fields,
    .doc = "Receives OTLP over gRPC and HTTP (protobuf and JSON), as the OpenTelemetry SDKs send it.",
    .validate = otlp_validate,
    .create = otlp_create,
    .start = otlp_start,
    .consume = NULL,
    .shutdown = otlp_shutdown,
    .destroy = otlp_destroy,
};
