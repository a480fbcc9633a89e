/* The otlp exporter (alias otlp_grpc): sends traces, metrics and logs to another agent or a
 * Collector with the OTLP gRPC Export calls, one unary call per batch, through the exporter helper's
 * queue and retries. Keys as the Collector's otlpexporter (configgrpc client + exporterhelper); a
 * non-OK gRPC status is classed by the OTLP spec's rules, honouring RetryInfo, and a
 * partial_success in the answer is logged. Messages are packed and gzipped on libuv's thread pool
 * (the push exporter's jobs), into the one buffer the call sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/diag.h"
#include "exporters/otlp/otlp.h"
#include "net/grpc_client.h"

struct otlp_grpc_config {
    char *endpoint;
    int compression;
    struct oca_push_compression_params compression_params;
    struct oca_tls_client_config tls;
    struct oca_strmap headers;
    struct oca_exporter_helper_config helper;
};

static const struct oca_field otlp_grpc_fields[] = {
    OCA_FIELD_STRING(struct otlp_grpc_config, endpoint, NULL,
                     "The gRPC server to send to, host:port (required). An http:// or https:// "
                     "prefix is accepted; https:// turns TLS on even with tls.insecure."),
    OCA_PUSH_COMPRESSION_FIELDS(struct otlp_grpc_config, "gzip",
                                "Compression of each message (grpc-encoding)."),
    OCA_FIELD_SECTION(struct otlp_grpc_config, tls, struct oca_tls_client_config, oca_tls_client_fields,
                      "TLS to the server: on unless insecure is true (then plain HTTP/2)."),
    OCA_FIELD_STRING_MAP(struct otlp_grpc_config, headers,
                         "Metadata sent with every call, such as an authorization header."),
    OCA_EXPORTER_HELPER_FIELDS(struct otlp_grpc_config, helper),
    OCA_FIELD_END,
};

static const char *const export_paths[OCA_SIGNAL_COUNT] = {
    [OCA_SIGNAL_TRACES] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    [OCA_SIGNAL_METRICS] = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    [OCA_SIGNAL_LOGS] = "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

struct otlp_grpc {
    struct oca_push_exporter base;       /* first: self->state points at it too */
    const struct otlp_grpc_config *cfg;
    char *url;                      /* http(s)://host:port */
};

static int otlp_grpc_validate(const void *cfgp, struct oca_diag *diag)
{
    const struct otlp_grpc_config *cfg = cfgp;
    int err = OCA_OK;
    char why[256], *url;
    if (oca_otlpexp_grpc_url(cfg->endpoint, cfg->tls.insecure, &url, why, sizeof(why)) != OCA_OK) {
        oca_diag_field_error(diag, "endpoint", "%s", why);
        err = OCA_ERR_CONFIG;
    }
    free(url);
    if (oca_push_exporter_validate(&cfg->headers, &cfg->tls, cfg->compression, &cfg->compression_params,
                                   &cfg->helper, diag) != OCA_OK)
        err = OCA_ERR_CONFIG;
    return err;
}

static void on_reply(void *arg, const struct oca_grpc_result *res)
{
    struct oca_push_job *job = arg;
    struct otlp_grpc *x = job->exporter;
    struct oca_send_result r = { .err = OCA_OK };
    char msg[768], code_buf[16];
    if (res->err != OCA_OK) {
        r.err = res->err;
        snprintf(msg, sizeof(msg), "%s: %s", x->url, res->detail ? res->detail : oca_err_message(res->err));
        r.message = msg;
    } else if (res->grpc_status != 0) {
        r.err = oca_export_grpc_status_err(res->grpc_status, res->retry_delay_ns >= 0);
        r.retry_after_ns = res->retry_delay_ns > 0 ? res->retry_delay_ns : 0;
        /* Worded as Go's gRPC errors, which is what the Collector logs. */
        snprintf(msg, sizeof(msg), "rpc error: code = %s desc = %s",
                 oca_otlpexp_grpc_code_name(res->grpc_status, code_buf), res->grpc_message ? res->grpc_message : "");
        r.message = msg;
    } else {
        struct oca_otlpexp_partial p;
        if (oca_otlpexp_parse_partial(job->sig, OCA_ENCODING_PROTO, res->msg, res->msg_len, &p) == OCA_OK)
            oca_otlpexp_log_partial(x->base.self->id, job->sig, &p);
        else
            oca_log_warn(x->base.self->id, "the %s export response could not be decoded; the data was accepted",
                         oca_signal_name(job->sig));
    }
    oca_push_job_finish(job, &r);
}

/* On the thread pool (see oca_push_job_ops): the request message, written (or gzipped) once into
 * the job's body after room for the gRPC prefix, so that the call sends it without a copy. */
static int encode(void *exporter, struct oca_push_job *job, char *why, size_t why_size)
{
    (void)exporter;
    (void)why;
    (void)why_size;
    oca_push_job_add_batch(job);
    return OCA_OK;
}

static void send_call(void *exporter, struct oca_push_job *job)
{
    struct otlp_grpc *x = exporter;
    size_t n;
    const struct oca_slice *msg = oca_push_job_pieces(job, 0, &n);
    int err = oca_grpc_unary_pieces(x->base.client, x->url, export_paths[job->sig], x->base.headers,
                                    x->base.n_headers, msg, n, oca_push_compression_token(job->compression),
                                    job->timeout_ns, on_reply, job);
    if (err != OCA_OK) {
        struct oca_send_result r = { .err = err, .message = oca_err_message(err) };
        oca_push_job_finish(job, &r);
    }
}

static const struct oca_push_job_ops otlp_grpc_job_ops = {
    .encode = encode, .send = send_call,
};

static void otlp_grpc_send(void *exporter, enum oca_signal sig, struct oca_batch *batch, int64_t timeout_ns,
                           struct oca_send_attempt *attempt)
{
    struct otlp_grpc *x = exporter;
    oca_push_job_start(&x->base, &otlp_grpc_job_ops, x, sig, batch, timeout_ns,
                       x->cfg->compression, (int)x->cfg->compression_params.level, attempt);
}

static const struct oca_exporter_ops otlp_grpc_ops = { .send = otlp_grpc_send };

static int otlp_grpc_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    const struct otlp_grpc_config *cfg = self->config;
    struct otlp_grpc *x = oca_xcalloc(1, sizeof(*x));
    x->cfg = cfg;
    char why[256];
    if (oca_otlpexp_grpc_url(cfg->endpoint, cfg->tls.insecure, &x->url, why, sizeof(why)) != OCA_OK) {
        free(x);
        return OCA_ERR_CONFIG;  /* validate has reported it */
    }
    oca_push_exporter_init(&x->base, self, &cfg->helper, &cfg->tls, &cfg->headers, NULL, 0, &otlp_grpc_ops, x);
    self->state = x;
    return OCA_OK;
}

static void otlp_grpc_destroy(struct oca_component *self)
{
    struct otlp_grpc *x = self->state;
    if (!x)
        return;
    oca_push_exporter_free(&x->base);
    free(x->url);
    free(x);
    self->state = NULL;
}

const struct oca_component_type oca_otlp_exporter = {
    .name = "otlp",
    .alias = "otlp_grpc",
    .kind = OCA_EXPORTER,
    .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
    .takes_raw = oca_takes_raw_always,      /* it sends the raw bytes as they are */
    .config_size = sizeof(struct otlp_grpc_config),
    .fields = otlp_grpc_fields,
    .doc = "Sends OTLP over gRPC to another agent, a Collector or a backend, with a sending queue and retries.",
    .validate = otlp_grpc_validate,
    .create = otlp_grpc_create,
    .start = oca_push_exporter_start,
    .consume = oca_push_exporter_consume,
    .shutdown = oca_push_exporter_shutdown,
    .destroy = otlp_grpc_destroy,
};
