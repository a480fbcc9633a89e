/* The otlphttp exporter (alias otlp_http): POSTs traces, metrics and logs as OTLP/HTTP, protobuf or
 * JSON, gzip-compressed by default, to endpoint + /v1/<signal> (or a per-signal URL), through the
 * exporter helper's queue and retries. Keys as the Collector's otlphttpexporter. The status decides
 * what happens next (the OTLP spec's retryable statuses, Retry-After honoured); an error body that
 * is a google.rpc.Status gives the message logged, and a partial_success in a 2xx answer is logged.
 * Bodies are encoded and compressed on libuv's thread pool (the push exporter's jobs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "codec/otlp_json.h"
#include "config/diag.h"
#include "exporters/otlp/otlp.h"

struct otlp_http_config {
    char *endpoint;
    char *traces_endpoint;
    char *metrics_endpoint;
    char *logs_endpoint;
    int encoding;
    int compression;
    struct oca_push_compression_params compression_params;
    struct oca_tls_client_config tls;
    struct oca_strmap headers;
    struct oca_exporter_helper_config helper;
};

static const struct oca_enum_name encoding_names[] = {
    { "proto", OCA_ENCODING_PROTO },
    { "json", OCA_ENCODING_JSON },
    { NULL, 0 },
};

static const struct oca_field otlp_http_fields[] = {
    OCA_FIELD_STRING(struct otlp_http_config, endpoint, NULL,
                     "Base URL (http:// or https://); each signal goes to it + /v1/traces, "
                     "/v1/metrics or /v1/logs. Required unless every signal has its own URL."),
    OCA_FIELD_STRING(struct otlp_http_config, traces_endpoint, NULL,
                     "URL for traces, used as given instead of endpoint + /v1/traces."),
    OCA_FIELD_STRING(struct otlp_http_config, metrics_endpoint, NULL,
                     "URL for metrics, used as given instead of endpoint + /v1/metrics."),
    OCA_FIELD_STRING(struct otlp_http_config, logs_endpoint, NULL,
                     "URL for logs, used as given instead of endpoint + /v1/logs."),
    OCA_FIELD_ENUM(struct otlp_http_config, encoding, "proto", encoding_names,
                   "Body encoding: proto (application/x-protobuf) or json (application/json)."),
    OCA_PUSH_COMPRESSION_FIELDS(struct otlp_http_config, "gzip",
                                "Compression of each request body (Content-Encoding)."),
    OCA_FIELD_SECTION(struct otlp_http_config, tls, struct oca_tls_client_config, oca_tls_client_fields,
                      "TLS for https:// URLs (insecure is ignored: the scheme decides)."),
    OCA_FIELD_STRING_MAP(struct otlp_http_config, headers,
                         "Headers sent with every request, such as an authorization header."),
    OCA_EXPORTER_HELPER_FIELDS(struct otlp_http_config, helper),
    OCA_FIELD_END,
};

struct otlp_http {
    struct oca_push_exporter base;       /* first: self->state points at it too */
    const struct otlp_http_config *cfg;
    char *urls[OCA_SIGNAL_COUNT];       /* NULL: no URL for that signal */
    enum oca_http_version versions[OCA_SIGNAL_COUNT];
    struct oca_http_header fixed[OCA_PUSH_HTTP_HEADERS];
};

static const char *signal_override(const struct otlp_http_config *cfg, enum oca_signal sig)
{
    switch (sig) {
    case OCA_SIGNAL_TRACES: return cfg->traces_endpoint;
    case OCA_SIGNAL_METRICS: return cfg->metrics_endpoint;
    default: return cfg->logs_endpoint;
    }
}

static int otlp_http_validate(const void *cfgp, struct oca_diag *diag)
{
    const struct otlp_http_config *cfg = cfgp;
    int err = OCA_OK;
    char why[512];
    const struct { const char *key, *value; } urls[] = {
        { "endpoint", cfg->endpoint },
        { "traces_endpoint", cfg->traces_endpoint },
        { "metrics_endpoint", cfg->metrics_endpoint },
        { "logs_endpoint", cfg->logs_endpoint },
    };
    bool any = false;
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        if (!urls[i].value || !*urls[i].value)
            continue;
        any = true;
        if (!oca_otlpexp_http_url_ok(urls[i].value, why, sizeof(why))) {
            oca_diag_field_error(diag, urls[i].key, "%s", why);
            err = OCA_ERR_CONFIG;
        }
    }
    if (!any) {
        oca_diag_field_error(diag, "endpoint", "endpoint (or traces_endpoint, metrics_endpoint and "
                             "logs_endpoint) must be set");
        err = OCA_ERR_CONFIG;
    }
    if (oca_push_exporter_validate(&cfg->headers, &cfg->tls, cfg->compression, &cfg->compression_params,
                                   &cfg->helper, diag) != OCA_OK)
        err = OCA_ERR_CONFIG;
    return err;
}

static void header_value(const struct oca_http_response *resp, const char *name, char *out, size_t size)
{
    const struct oca_http_header *h = oca_http_response_header(resp, name);
    snprintf(out, size, "%.*s", h ? (int)h->value_len : 0, h ? h->value : "");
}

static void on_response(void *arg, const struct oca_http_response *resp)
{
    struct oca_push_job *job = arg;
    struct otlp_http *x = job->exporter;
    const char *url = x->urls[job->sig];
    struct oca_send_result r = { .err = OCA_OK };
    char msg[1024], ctype[128];
    if (resp->err != OCA_OK) {
        r.err = resp->err;
        snprintf(msg, sizeof(msg), "%s: %s", url, resp->detail ? resp->detail : oca_err_message(resp->err));
        r.message = msg;
    } else if (resp->status < 200 || resp->status > 299) {
        r.err = oca_export_http_status_err(resp->status);
        if (oca_err_retryable(r.err))
            r.retry_after_ns = oca_push_retry_after(resp);
        char text[512];
        header_value(resp, "content-type", ctype, sizeof(ctype));
        oca_otlpexp_status_message(ctype, resp->body, resp->body_len, text, sizeof(text));
        snprintf(msg, sizeof(msg), "%s responded with HTTP %d%s%s", url, resp->status, text[0] ? ": " : "", text);
        r.message = msg;
    } else {
        header_value(resp, "content-type", ctype, sizeof(ctype));
        /* As the Collector: the answer is read only when its type says what it is. */
        bool json = oca_otlpexp_media_type_is(ctype, "application/json");
        bool proto = oca_otlpexp_media_type_is(ctype, "application/x-protobuf") ||
                     oca_otlpexp_media_type_is(ctype, "application/protobuf");
        struct oca_otlpexp_partial part;
        if (json || proto) {
            enum oca_encoding enc = json ? OCA_ENCODING_JSON : OCA_ENCODING_PROTO;
            if (oca_otlpexp_parse_partial(job->sig, enc, resp->body, resp->body_len, &part) == OCA_OK)
                oca_otlpexp_log_partial(x->base.self->id, job->sig, &part);
            else
                oca_log_warn(x->base.self->id, "the response from %s could not be decoded; the data was accepted", url);
        }
    }
    oca_push_job_finish(job, &r);
}

/* On libuv's thread pool (see oca_push_job_ops): the body, encoded; the push exporter gzips it. */
static int encode(void *exporter, struct oca_push_job *job, char *why, size_t why_size)
{
    const struct otlp_http *x = exporter;
    (void)why;
    (void)why_size;
    if (x->cfg->encoding == OCA_ENCODING_JSON) {
        struct oca_buf raw = { 0 };
        oca_otlp_json_encode(job->batch->msg, &raw);
        oca_push_job_add_buf(job, &raw);
    } else {
        oca_push_job_add_batch(job);   /* the body is this one copy */
    }
    return OCA_OK;
}

static void send_body(void *exporter, struct oca_push_job *job)
{
    struct otlp_http *x = exporter;
    struct oca_http_request req = {
        .method = "POST",
        .url = x->urls[job->sig],
        .version = x->versions[job->sig],
        .headers = x->base.headers,
        .n_headers = x->base.n_headers,
        .timeout_ns = job->timeout_ns,
    };
    req.pieces = oca_push_job_pieces(job, 0, &req.n_pieces);
    int err = oca_http_client_send(x->base.client, &req, on_response, job);
    if (err != OCA_OK) {
        struct oca_send_result r = { .err = err, .message = oca_err_message(err) };
        oca_push_job_finish(job, &r);
    }
}

static const struct oca_push_job_ops otlp_http_job_ops = { .encode = encode, .send = send_body };

/* Encoding and gzip of a large batch take milliseconds, so they run on the thread pool, and the
 * request is started back on the loop thread. The attempt's timeout covers the exchange only. */
static void otlp_http_send(void *exporter, enum oca_signal sig, struct oca_batch *batch, int64_t timeout_ns,
                           struct oca_send_attempt *attempt)
{
    struct otlp_http *x = exporter;
    if (!x->urls[sig]) {
        char msg[128];
        snprintf(msg, sizeof(msg), "no URL for %s: set endpoint or %s_endpoint", oca_signal_name(sig), oca_signal_name(sig));
        struct oca_send_result r = { .err = OCA_ERR_CONFIG, .message = msg };
        oca_send_attempt_done(attempt, &r);
        return;
    }
    oca_push_job_start(&x->base, &otlp_http_job_ops, x, sig, batch, timeout_ns,
                       x->cfg->compression, (int)x->cfg->compression_params.level, attempt);
}

static const struct oca_exporter_ops otlp_http_ops = { .send = otlp_http_send };

static int otlp_http_create(struct oca_component *self, struct oca_diag *diag)
{
    (void)diag;
    const struct otlp_http_config *cfg = self->config;
    struct otlp_http *x = oca_xcalloc(1, sizeof(*x));
    x->cfg = cfg;
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++) {
        x->urls[s] = oca_otlpexp_signal_url(cfg->endpoint, signal_override(cfg, (enum oca_signal)s), (enum oca_signal)s);
        /* As Go's client in the Collector: HTTP/2 when TLS's ALPN agrees (libcurl falls back to
         * HTTP/1.1 when the server does not pick h2), HTTP/1.1 in plain text. */
        bool https = x->urls[s] && strncasecmp(x->urls[s], "https://", 8) == 0;
        x->versions[s] = https ? OCA_HTTP_VERSION_2 : OCA_HTTP_VERSION_1_1;
    }
    size_t n = oca_push_http_headers(
        x->fixed, cfg->encoding == OCA_ENCODING_JSON ? "application/json" : "application/x-protobuf", cfg->compression);
    oca_push_exporter_init(&x->base, self, &cfg->helper, &cfg->tls, &cfg->headers, x->fixed, n, &otlp_http_ops, x);
    self->state = x;
    return OCA_OK;
}

static void otlp_http_destroy(struct oca_component *self)
{
    struct otlp_http *x = self->state;
    if (!x)
        return;
    oca_push_exporter_free(&x->base);
    for (int s = 0; s < OCA_SIGNAL_COUNT; s++)
        free(x->urls[s]);
    free(x);
    self->state = NULL;
}

/* Protobuf bodies are the batch's raw bytes when it has them; JSON is written from the structs. */
static bool otlp_http_takes_raw(const void *cfg)
{
    return ((const struct otlp_http_config *)cfg)->encoding == OCA_ENCODING_PROTO;
}

const struct oca_component_type oca_otlphttp_exporter = {
    .name = "otlphttp",
    .alias = "otlp_http",
    .kind = OCA_EXPORTER,
    .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
    .takes_raw = otlp_http_takes_raw,
    .config_size = sizeof(struct otlp_http_config),
    .fields = otlp_http_fields,
    .doc = "Posts OTLP/HTTP (protobuf or JSON) to another agent, a Collector or a backend, with a sending queue and retries.",
    .validate = otlp_http_validate,
    .create = otlp_http_create,
    .start = oca_push_exporter_start,
    .consume = oca_push_exporter_consume,
    .shutdown = oca_push_exporter_shutdown,
    .destroy = otlp_http_destroy,
};
