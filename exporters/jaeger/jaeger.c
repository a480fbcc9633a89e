/* The jaeger exporter: sends traces to a Jaeger collector's gRPC api_v2 CollectorService/PostSpans
 * (port 14250), as the Collector's jaeger exporter did. Each batch is translated (translate.c) into
 * one Jaeger Batch per resource, and each of those goes out as its own PostSpans call, all at once;
 * the attempt ends when the last answers. Queueing, retries and timeouts are the exporter helper's;
 * translation, packing and gzip run on libuv's thread pool (the push exporter's jobs). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/arena.h"
#include "base/errors.h"
#include "base/mem.h"
#include "config/diag.h"
#include "config/fields.h"
#include "exporters/exporterhelper/push.h"
#include "exporters/jaeger/translate.h"
#include "jaeger/api_v2/collector.pb-c.h"
#include "net/grpc_client.h"
#include "net/http_client.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"

#define POST_SPANS_PATH "/jaeger.api_v2.CollectorService/PostSpans"
#define MESSAGE_MAX 512

struct jaeger_config {
    struct oca_endpoint endpoint;
    struct oca_tls_client_config tls;
    struct oca_strmap headers;
    int compression;
    struct oca_push_compression_params compression_params;
    struct oca_exporter_helper_config helper;
};

static const struct oca_field jaeger_fields[] = {
    OCA_FIELD_ENDPOINT(struct jaeger_config, endpoint, "localhost:14250",
                       "host:port of the Jaeger collector's gRPC endpoint (api_v2 CollectorService)."),
    OCA_FIELD_OPT_SECTION(struct jaeger_config, tls, struct oca_tls_client_config, oca_tls_client_fields, tls.present,
                          "TLS towards the collector; on (verified with the system's CAs) unless "
                          "tls.insecure is true."),
    OCA_FIELD_STRING_MAP(struct jaeger_config, headers, "gRPC metadata sent with every call."),
    OCA_PUSH_COMPRESSION_FIELDS(struct jaeger_config, "none",
                                "Compression of the calls (grpc-encoding); none is the Collector's gRPC client default."),
    OCA_EXPORTER_HELPER_FIELDS(struct jaeger_config, helper),
    OCA_FIELD_END,
};

struct jaeger_exporter {
    struct oca_push_exporter base;      /* first: self->state points at it too; headers are the
                                         * gRPC metadata */
    const struct jaeger_config *cfg;
    char *base_url;                     /* http://host:port or https://host:port */
};

/* One attempt: the PostSpans calls of one batch still to answer, and the worst answer so far. */
struct attempt {
    struct oca_push_job *job;
    size_t pending;
    int err;                    /* OCA_OK, else the first retryable error, else the first permanent */
    int64_t retry_after_ns;
    char message[MESSAGE_MAX];
};

static int jaeger_validate(const void *cfgp, struct oca_diag *diag)
{
    const struct jaeger_config *cfg = cfgp;
    int err = OCA_OK;
    if (!cfg->endpoint.host || !*cfg->endpoint.host || cfg->endpoint.port == 0) {
        oca_diag_field_error(diag, "endpoint", "endpoint must be host:port with a host and a port");
        err = OCA_ERR_CONFIG;
    }
    if (oca_push_exporter_validate(&cfg->headers, &cfg->tls, cfg->compression, &cfg->compression_params,
                                   &cfg->helper, diag) != OCA_OK)
        err = OCA_ERR_CONFIG;
    return err;
}

static void send_batch(void *exporter, enum oca_signal sig, struct oca_batch *batch, int64_t timeout_ns,
                       struct oca_send_attempt *attempt);

static const struct oca_exporter_ops jaeger_ops = { .send = send_batch };

static int jaeger_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    const struct jaeger_config *cfg = self->config;
    struct jaeger_exporter *jx = oca_xcalloc(1, sizeof(*jx));
    jx->cfg = cfg;
    const char *host = cfg->endpoint.host;
    bool v6 = strchr(host, ':') != NULL;
    size_t len = strlen(host) + 32;
    jx->base_url = oca_xmalloc(len);
    snprintf(jx->base_url, len, "%s://%s%s%s:%u", cfg->tls.insecure ? "http" : "https", v6 ? "[" : "", host,
             v6 ? "]" : "", (unsigned)cfg->endpoint.port);
    /* The HTTP client sends header names in lower case over HTTP/2, as gRPC metadata must be. */
    oca_push_exporter_init(&jx->base, self, &cfg->helper, &cfg->tls, &cfg->headers, NULL, 0, &jaeger_ops, jx);
    self->state = jx;
    return OCA_OK;
}

/* Keeps the answer that decides the attempt: a retryable failure wins (the batch is sent again),
 * then a permanent one; the first of each kind keeps its message. */
static void merge_result(struct attempt *at, int err, int64_t retry_after_ns, const char *message)
{
    if (err == OCA_OK)
        return;
    bool replace = at->err == OCA_OK || (oca_err_retryable(err) && !oca_err_retryable(at->err));
    if (!replace)
        return;
    at->err = err;
    at->retry_after_ns = retry_after_ns;
    snprintf(at->message, sizeof(at->message), "%s", message ? message : "");
}

static void finish_attempt(struct attempt *at)
{
    struct oca_send_result res = { at->err, at->retry_after_ns, at->message[0] ? at->message : NULL };
    oca_push_job_finish(at->job, &res);
    free(at);
}

static void on_post_spans(void *arg, const struct oca_grpc_result *r)
{
    struct attempt *at = arg;
    if (r->err != OCA_OK) {
        merge_result(at, r->err, 0, r->detail);
    } else if (r->grpc_status != 0) {
        char msg[MESSAGE_MAX];
        snprintf(msg, sizeof(msg), "gRPC status %d: %s", r->grpc_status, r->grpc_message ? r->grpc_message : "");
        merge_result(at, oca_export_grpc_status_err(r->grpc_status, r->retry_delay_ns >= 0),
                     r->retry_delay_ns > 0 ? r->retry_delay_ns : 0, msg);
    }
    if (--at->pending == 0)
        finish_attempt(at);
}

/* On the thread pool (see oca_push_job_ops): one PostSpansRequest per Jaeger batch, each a message
 * of the job (gzipped by the push exporter when compression is on). */
static int encode(void *exporter, struct oca_push_job *job, char *why, size_t why_size)
{
    (void)exporter;
    (void)why;
    (void)why_size;
    struct oca_arena *a = oca_arena_new(16384);
    Jaeger__ApiV2__Batch **batches;
    size_t n = oca_jaeger_translate(job->batch->traces, a, &batches);
    for (size_t i = 0; i < n; i++) {
        /* A Jaeger batch without spans says nothing the collector would keep. */
        if (batches[i]->n_spans == 0)
            continue;
        Jaeger__ApiV2__PostSpansRequest req = JAEGER__API_V2__POST_SPANS_REQUEST__INIT;
        req.batch = batches[i];
        oca_push_job_add_message(job, &req.base);
    }
    oca_arena_destroy(a);
    return OCA_OK;
}

/* Loop thread: every message goes out as its own call, all at once. */
static void send_calls(void *exporter, struct oca_push_job *job)
{
    struct jaeger_exporter *jx = exporter;
    struct attempt *at = oca_xcalloc(1, sizeof(*at));
    at->job = job;
    /* One reference more than the calls started, so that no answer can finish the attempt before
     * every call has been started. */
    at->pending = 1;
    for (size_t i = 0; i < job->n_msgs; i++) {
        size_t n;
        const struct oca_slice *msg = oca_push_job_pieces(job, i, &n);
        at->pending++;
        int err = oca_grpc_unary_pieces(jx->base.client, jx->base_url, POST_SPANS_PATH, jx->base.headers,
                                        jx->base.n_headers, msg, n, oca_push_compression_token(job->compression),
                                        job->timeout_ns, on_post_spans, at);
        if (err != OCA_OK) {
            at->pending--;
            merge_result(at, err, 0, "the gRPC client is closing");
        }
    }
    if (--at->pending == 0)
        finish_attempt(at);
}

static const struct oca_push_job_ops jaeger_job_ops = {
    .encode = encode, .send = send_calls,
};

static void send_batch(void *exporter, enum oca_signal sig, struct oca_batch *batch, int64_t timeout_ns,
                       struct oca_send_attempt *attempt)
{
    struct jaeger_exporter *jx = exporter;
    oca_push_job_start(&jx->base, &jaeger_job_ops, jx, sig, batch, timeout_ns,
                       jx->cfg->compression, (int)jx->cfg->compression_params.level, attempt);
}

static void jaeger_destroy(struct oca_component *self)
{
    struct jaeger_exporter *jx = self->state;
    if (!jx)
        return;
    oca_push_exporter_free(&jx->base);
    free(jx->base_url);
    free(jx);
    self->state = NULL;
}

const struct oca_component_type oca_jaeger_exporter = {
    .name = "jaeger",
    .kind = OCA_EXPORTER,
    .signals = OCA_TRACES,
    .config_size = sizeof(struct jaeger_config),
    .fields = jaeger_fields,
    .doc = "Sends traces to a Jaeger collector over gRPC (api_v2 PostSpans, port 14250).",
    .validate = jaeger_validate,
    .create = jaeger_create,
    .start = oca_push_exporter_start,
    .consume = oca_push_exporter_consume,
    .shutdown = oca_push_exporter_shutdown,
    .destroy = jaeger_destroy,
};
