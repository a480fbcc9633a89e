/* The zipkin exporter: POSTs traces to a Zipkin server's /api/v2/spans as Zipkin v2 JSON or proto3
 * (translate.c does the mapping, as the Collector's zipkinexporter), over HTTP/1.1 through the
 * exporter helper's queue and retries. 2xx is success; other statuses and transport failures are
 * classified by the OTLP retry rules, and a Retry-After on a retryable answer is honoured. A batch
 * that cannot be translated fails at once as a permanent error, as in the Collector. Translation
 * and compression run on libuv's thread pool (the push exporter's jobs), so a large batch does not
 * hold up the loop. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/errors.h"
#include "base/mem.h"
#include "config/diag.h"
#include "config/fields.h"
#include "exporters/exporterhelper/push.h"
#include "exporters/zipkin/translate.h"
#include "net/http_client.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"

struct zipkin_config {
    char *endpoint;
    int format;
    char *default_service_name;
    int compression;
    struct oca_push_compression_params compression_params;
    struct oca_tls_client_config tls;
    struct oca_strmap headers;
    struct oca_exporter_helper_config helper;
};

static const struct oca_enum_name format_names[] = {
    { "json", OCA_ZIPKIN_JSON },
    { "proto", OCA_ZIPKIN_PROTO },
    { NULL, 0 },
};

static const struct oca_field zipkin_fields[] = {
    OCA_FIELD_STRING(struct zipkin_config, endpoint, NULL,
                     "URL spans are POSTed to (required), http:// or https://, e.g. "
                     "http://localhost:9411/api/v2/spans."),
    OCA_FIELD_ENUM(struct zipkin_config, format, "json", format_names,
                   "Body format: json (a JSON array of Zipkin v2 spans, application/json) or proto "
                   "(a zipkin.proto3.ListOfSpans, application/x-protobuf)."),
    OCA_FIELD_STRING(struct zipkin_config, default_service_name, "<missing service name>",
                     "localEndpoint.serviceName of spans whose resource has no service.name (nor "
                     "faas.name, k8s.deployment.name or process.executable.name)."),
    OCA_PUSH_COMPRESSION_FIELDS(struct zipkin_config, "none",
                                "Compression of each request body (sent with Content-Encoding)."),
    OCA_FIELD_SECTION(struct zipkin_config, tls, struct oca_tls_client_config, oca_tls_client_fields,
                      "TLS for an https:// endpoint."),
    OCA_FIELD_STRING_MAP(struct zipkin_config, headers,
                         "Headers sent with every request, such as an authorization header."),
    OCA_EXPORTER_HELPER_FIELDS(struct zipkin_config, helper),
    OCA_FIELD_END,
};

struct zipkin_exporter {
    struct oca_push_exporter base;      /* first: self->state points at it too */
    const struct zipkin_config *cfg;
    struct oca_http_header fixed[OCA_PUSH_HTTP_HEADERS];
};

static int zipkin_validate(const void *cfgp, struct oca_diag *diag)
{
    const struct zipkin_config *cfg = cfgp;
    int err = OCA_OK;
    const char *e = cfg->endpoint;
    if (!e || !*e) {
        oca_diag_field_error(diag, "endpoint", "endpoint must be set (e.g. http://localhost:9411/api/v2/spans)");
        err = OCA_ERR_CONFIG;
    } else if ((strncasecmp(e, "http://", 7) != 0 || !e[7]) && (strncasecmp(e, "https://", 8) != 0 || !e[8])) {
        oca_diag_field_error(diag, "endpoint", "%s is not an http:// or https:// URL", e);
        err = OCA_ERR_CONFIG;
    } else if (strpbrk(e, " \t\r\n")) {
        oca_diag_field_error(diag, "endpoint", "the URL may not contain white space");
        err = OCA_ERR_CONFIG;
    }
    if (oca_push_exporter_validate(&cfg->headers, &cfg->tls, cfg->compression, &cfg->compression_params,
                                   &cfg->helper, diag) != OCA_OK)
        err = OCA_ERR_CONFIG;
    return err;
}

/* The start of a response body as one printable line, for the log. */
static void body_text(const struct oca_http_response *resp, char *out, size_t size)
{
    size_t n = resp->body_len < size - 1 ? resp->body_len : size - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = resp->body[i];
        out[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[n] = '\0';
}

static void on_response(void *arg, const struct oca_http_response *resp)
{
    struct oca_push_job *job = arg;
    const struct zipkin_exporter *zx = job->exporter;
    const char *url = zx->cfg->endpoint;
    struct oca_send_result r = { .err = OCA_OK };
    char msg[1024];
    if (resp->err != OCA_OK) {
        r.err = resp->err;
        snprintf(msg, sizeof(msg), "%s: %s", url, resp->detail ? resp->detail : oca_err_message(resp->err));
        r.message = msg;
    } else if (resp->status < 200 || resp->status > 299) {
        r.err = oca_export_http_status_err(resp->status);
        if (oca_err_retryable(r.err))
            r.retry_after_ns = oca_push_retry_after(resp);
        char text[512];
        body_text(resp, text, sizeof(text));
        snprintf(msg, sizeof(msg), "%s responded with HTTP %d%s%s", url, resp->status, text[0] ? ": " : "", text);
        r.message = msg;
    }
    oca_push_job_finish(job, &r);
}

/* On the thread pool (see oca_push_job_ops): the body; the push exporter gzips it. */
static int encode(void *exporter, struct oca_push_job *job, char *why, size_t why_size)
{
    const struct zipkin_config *cfg = ((const struct zipkin_exporter *)exporter)->cfg;
    struct oca_buf raw = { 0 };
    char detail[400];
    int err = oca_zipkin_encode(job->batch->traces, (enum oca_zipkin_format)cfg->format, cfg->default_service_name,
                                &raw, detail, sizeof(detail));
    if (err == OCA_OK)
        oca_push_job_add_buf(job, &raw);
    else
        snprintf(why, why_size, "the batch cannot be expressed in Zipkin: %s", detail);
    oca_buf_free(&raw);
    return err;
}

static void send_body(void *exporter, struct oca_push_job *job)
{
    struct zipkin_exporter *zx = exporter;
    struct oca_http_request req = {
        .method = "POST",
        .url = zx->cfg->endpoint,
        .version = OCA_HTTP_VERSION_1_1,
        .headers = zx->base.headers,
        .n_headers = zx->base.n_headers,
        .timeout_ns = job->timeout_ns,
    };
    req.pieces = oca_push_job_pieces(job, 0, &req.n_pieces);
    struct oca_send_result r = { .err = oca_http_client_send(zx->base.client, &req, on_response, job) };
    if (r.err != OCA_OK)
        oca_push_job_finish(job, &r);
}

static const struct oca_push_job_ops zipkin_job_ops = { .encode = encode, .send = send_body };

static void zipkin_send(void *exporter, enum oca_signal sig, struct oca_batch *batch, int64_t timeout_ns,
                        struct oca_send_attempt *attempt)
{
    struct zipkin_exporter *zx = exporter;
    if (batch->items == 0) {
        struct oca_send_result r = { .err = OCA_OK };
        oca_send_attempt_done(attempt, &r);    /* nothing to tell the backend */
        return;
    }
    oca_push_job_start(&zx->base, &zipkin_job_ops, zx, sig, batch, timeout_ns,
                       zx->cfg->compression, (int)zx->cfg->compression_params.level, attempt);
}

static const struct oca_exporter_ops zipkin_ops = { .send = zipkin_send };

static int zipkin_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    const struct zipkin_config *cfg = self->config;
    struct zipkin_exporter *zx = oca_xcalloc(1, sizeof(*zx));
    zx->cfg = cfg;
    size_t n = oca_push_http_headers(
        zx->fixed, cfg->format == OCA_ZIPKIN_PROTO ? "application/x-protobuf" : "application/json", cfg->compression);
    oca_push_exporter_init(&zx->base, self, &cfg->helper, &cfg->tls, &cfg->headers, zx->fixed, n, &zipkin_ops, zx);
    self->state = zx;
    return OCA_OK;
}

static void zipkin_destroy(struct oca_component *self)
{
    struct zipkin_exporter *zx = self->state;
    if (!zx)
        return;
    oca_push_exporter_free(&zx->base);
    free(zx);
    self->state = NULL;
}

const struct oca_component_type oca_zipkin_exporter = {
    .name = "zipkin",
    .kind = OCA_EXPORTER,
    .signals = OCA_TRACES,
    .config_size = sizeof(struct zipkin_config),
    .fields = zipkin_fields,
    .doc = "Sends traces to a Zipkin server (v2 API, JSON or protobuf).",
    .validate = zipkin_validate,
    .create = zipkin_create,
    .start = oca_push_exporter_start,
    .consume = oca_push_exporter_consume,
    .shutdown = oca_push_exporter_shutdown,
    .destroy = zipkin_destroy,
};
