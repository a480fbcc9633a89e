/* OTLP/HTTP for the otlp receiver (see otlp.h): POST of protobuf or JSON, identity, gzip or deflate,
 * answered in the request's content type as opentelemetry-proto's specification says, plus CORS.
 * Bodies stream in, inflated and charged to the memory budget as they arrive; a hopeless request is
 * answered before the rest is read, except one refused for memory, read through a counter (nothing
 * kept) so its items count as refused. gRPC requests on the listener go to its router at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "pipeline/counters.h"
#include "receivers/otlp/otlp.h"

/* One OTLP/HTTP request in flight. */
struct http_req {
    struct oca_otlp_listener *l;
    enum oca_signal sig;
    enum oca_encoding enc;
    struct oca_otlp_body body;
    struct oca_otlp_job *job;       /* the body's export, until it is answered */
    bool answered;
};

/* Response headers being put together; values must outlive the respond call. */
struct headers {
    struct oca_http_header h[12];
    size_t n;
    char retry_after[24];
    char max_age[24];
};

static void add(struct headers *hs, const char *name, const char *value)
{
    if (hs->n == sizeof(hs->h) / sizeof(hs->h[0]))
        return;
    hs->h[hs->n++] = (struct oca_http_header){ name, strlen(name), value, strlen(value) };
}

static const char *content_type_of(enum oca_encoding enc)
{
    return enc == OCA_ENCODING_JSON ? "application/json" : "application/x-protobuf";
}

/* CORS: origin patterns. */
static bool match_origin(const char *pattern, const char *origin)
{
    if (strcmp(pattern, "*") == 0)
        return true;
    const char *star = strchr(pattern, '*');
    if (!star)
        return strcasecmp(pattern, origin) == 0;
    size_t pre = (size_t)(star - pattern), suf = strlen(star + 1), n = strlen(origin);
    return n >= pre + suf && strncasecmp(origin, pattern, pre) == 0 && strcasecmp(origin + n - suf, star + 1) == 0;
}

bool oca_otlp_cors_origin_allowed(const struct oca_otlp_cors_config *cors, const char *origin)
{
    if (!cors || !origin || !*origin)
        return false;
    for (size_t i = 0; i < cors->allowed_origins.n; i++)
        if (match_origin(cors->allowed_origins.items[i], origin))
            return true;
    return false;
}

static bool cors_on(const struct oca_otlp_listener *l) { return l->cors && l->cors->allowed_origins.n > 0; }

/* Headers browsers may always send (the CORS-safelisted ones, plus Content-Type with any value and
 * Origin, as the Collector's CORS library allows them). */
static const char *const implicit_headers[] = {
    "accept", "accept-language", "content-language", "content-type", "origin", NULL,
};

static bool header_allowed(const struct oca_otlp_cors_config *cors, const char *name, size_t len)
{
    for (const char *const *h = implicit_headers; *h; h++)
        if (strlen(*h) == len && strncasecmp(*h, name, len) == 0)
            return true;
    for (size_t i = 0; i < cors->allowed_headers.n; i++) {
        const char *a = cors->allowed_headers.items[i];
        if (strcmp(a, "*") == 0 || (strlen(a) == len && strncasecmp(a, name, len) == 0))
            return true;
    }
    return false;
}

/* Every header named in an Access-Control-Request-Headers list is allowed. */
static bool headers_allowed(const struct oca_otlp_cors_config *cors, const char *list)
{
    while (list && *list) {
        list += strspn(list, " \t,");
        size_t n = strcspn(list, ",");
        size_t len = n;
        while (len > 0 && (list[len - 1] == ' ' || list[len - 1] == '\t'))
            len--;
        if (len > 0 && !header_allowed(cors, list, len))
            return false;
        list += n;
    }
    return true;
}

/* The CORS headers of an answer to an actual (not preflight) request. */
static void add_cors(const struct oca_otlp_listener *l, struct oca_http_stream *s, struct headers *hs)
{
    if (!cors_on(l))
        return;
    add(hs, "Vary", "Origin");
    const char *origin = oca_http_stream_header(s, "origin");
    if (oca_otlp_cors_origin_allowed(l->cors, origin)) {
        add(hs, "Access-Control-Allow-Origin", origin);
        add(hs, "Access-Control-Allow-Credentials", "true");
    }
}

/* A preflight gets 204; the Access-Control-Allow-* headers only when the origin, the method (POST)
 * and every requested header are allowed, so the browser stops anything else. */
static void answer_preflight(const struct oca_otlp_listener *l, struct oca_http_stream *s)
{
    struct headers hs = { .n = 0 };
    const char *origin = oca_http_stream_header(s, "origin");
    const char *method = oca_http_stream_header(s, "access-control-request-method");
    const char *req_headers = oca_http_stream_header(s, "access-control-request-headers");
    add(&hs, "Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    if (oca_otlp_cors_origin_allowed(l->cors, origin) && method && strcmp(method, "POST") == 0 &&
        headers_allowed(l->cors, req_headers)) {
        add(&hs, "Access-Control-Allow-Origin", origin);
        add(&hs, "Access-Control-Allow-Methods", "POST");
        if (req_headers && *req_headers)
            add(&hs, "Access-Control-Allow-Headers", req_headers);
        add(&hs, "Access-Control-Allow-Credentials", "true");
        if (l->cors->max_age > 0) {
            snprintf(hs.max_age, sizeof(hs.max_age), "%u", l->cors->max_age);
            add(&hs, "Access-Control-Max-Age", hs.max_age);
        }
    }
    oca_http_respond(s, 204, hs.h, hs.n, NULL, 0);
}

/* A failure: a google.rpc.Status in the request's encoding when it has one of ours, else text.
 * status 0 takes the result's own. */
static void answer_failure(const struct oca_otlp_listener *l, struct oca_http_stream *s, bool have_enc,
                           enum oca_encoding enc, const struct oca_otlp_result *res, int status, const char *allow)
{
    struct headers hs = { .n = 0 };
    struct oca_buf body = { 0 };
    if (status == 0)
        status = oca_otlp_http_status(res);
    if (have_enc) {
        oca_otlp_encode_status(res, enc, false, &body);
        add(&hs, "Content-Type", content_type_of(enc));
    } else {
        oca_buf_printf(&body, "%d %s\n", status, res->message);
        add(&hs, "Content-Type", "text/plain; charset=utf-8");
    }
    if (oca_otlp_retryable(res)) {
        snprintf(hs.retry_after, sizeof(hs.retry_after), "%d", OCA_OTLP_RETRY_AFTER_S);
        add(&hs, "Retry-After", hs.retry_after);
    }
    if (allow)
        add(&hs, "Allow", allow);
    add_cors(l, s, &hs);
    oca_http_respond(s, status, hs.h, hs.n, body.data, body.len);
    oca_buf_free(&body);
}

/* A request refused before it was decoded: logged at debug level (export.c logs the others). */
static void refuse(const struct oca_otlp_listener *l, struct oca_http_stream *s, bool have_enc, enum oca_encoding enc,
                   const struct oca_otlp_result *res, int status, const char *allow)
{
    oca_log_debug(l->rx->self->id, "%s %s from %s refused (%d, %s): %s", oca_http_stream_method(s),
                  oca_http_stream_path(s), oca_http_stream_peer(s), status ? status : oca_otlp_http_status(res),
                  oca_err_name(res->err), res->message);
    answer_failure(l, s, have_enc, enc, res, status, allow);
}

static void answer_success(const struct oca_otlp_listener *l, struct oca_http_stream *s, enum oca_signal sig,
                           enum oca_encoding enc, const struct oca_otlp_result *res)
{
    struct headers hs = { .n = 0 };
    struct oca_buf body = { 0 };
    oca_otlp_encode_response(sig, enc, res, &body);
    add(&hs, "Content-Type", content_type_of(enc));
    add_cors(l, s, &hs);
    oca_http_respond(s, 200, hs.h, hs.n, body.data, body.len);
    oca_buf_free(&body);
}

static void refuse_body(struct http_req *r, struct oca_http_stream *s)
{
    struct oca_otlp_result res;
    oca_otlp_result_set(&res, r->body.err, "%s", r->body.why);
    refuse(r->l, s, true, r->enc, &res, 0, NULL);
    r->answered = true;
}

static int route(const struct oca_otlp_listener *l, const char *path)
{
    for (int sig = 0; sig < OCA_SIGNAL_COUNT; sig++)
        if (path && strcmp(path, l->paths[sig]) == 0)
            return sig;
    return -1;
}

static void on_headers(struct oca_http_stream *s)
{
    struct oca_otlp_listener *l = oca_http_stream_handler_data(s);
    if (oca_grpc_is_grpc(s)) {
        oca_grpc_route_headers(&l->router, s);
        return;
    }
    const char *method = oca_http_stream_method(s);
    if (cors_on(l) && strcmp(method, "OPTIONS") == 0 && oca_http_stream_header(s, "origin") &&
        oca_http_stream_header(s, "access-control-request-method")) {
        answer_preflight(l, s);
        return;
    }
    enum oca_encoding enc = OCA_ENCODING_PROTO;
    bool have_enc = oca_otlp_parse_media_type(oca_http_stream_header(s, "content-type"), &enc) == OCA_OK;
    struct oca_otlp_result res;
    int sig = route(l, oca_http_stream_path(s));
    /* The order of the Collector's checks: unknown path, then method, media type, encoding. A
     * signal no pipeline takes has no route, as in the Collector. */
    if (sig < 0 || !l->rx->self->next[sig]) {
        oca_otlp_result_set(&res, OCA_ERR_NOT_FOUND, "no OTLP signal is served at %s", oca_http_stream_path(s));
        refuse(l, s, have_enc, enc, &res, 0, NULL);
        return;
    }
    if (strcmp(method, "POST") != 0) {
        /* The error table has no "method not allowed"; the status is given here. */
        oca_otlp_result_set(&res, OCA_ERR_INVALID, "method %s not allowed, supported: [POST]", method);
        refuse(l, s, have_enc, enc, &res, 405, "POST");
        return;
    }
    if (!have_enc) {
        const char *ct = oca_http_stream_header(s, "content-type");
        oca_otlp_result_set(&res, OCA_ERR_MEDIA_TYPE,
                            "unsupported media type %s, supported: [application/json, application/x-protobuf]",
                            ct ? ct : "(none)");
        refuse(l, s, false, enc, &res, 0, NULL);
        return;
    }
    enum oca_otlp_coding coding;
    const char *ce = oca_http_stream_header(s, "content-encoding");
    if (oca_otlp_parse_coding(ce, &coding) != OCA_OK) {
        oca_otlp_result_set(&res, OCA_ERR_INVALID,
                            "unsupported Content-Encoding: %s (supported: gzip, deflate, zstd, identity)", ce);
        refuse(l, s, true, enc, &res, 0, NULL);
        return;
    }
    struct http_req *r = oca_xcalloc(1, sizeof(*r));
    r->l = l;
    r->sig = (enum oca_signal)sig;
    r->enc = enc;
    oca_otlp_body_init(&r->body, coding, l->server_cfg->max_request_body_size);
    oca_otlp_body_count_refused(&r->body, r->sig, enc);
    oca_http_stream_set_user(s, r);
    const char *cl = oca_http_stream_header(s, "content-length");
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        int err = *end == '\0' ? oca_otlp_body_expect(&r->body, n) : OCA_OK;
        if (err && !r->body.counting) {
            refuse_body(r, s);
            return;
        }
    }
    oca_http_stream_stream_body(s);
}

static void on_body(struct oca_http_stream *s, const uint8_t *data, size_t len)
{
    struct http_req *r = oca_http_stream_user(s);
    if (!r || r->answered)
        return;
    /* A body refused for memory is still read through, without keeping it, to count its items. */
    if (oca_otlp_body_feed(&r->body, data, len) != OCA_OK && !r->body.counting)
        refuse_body(r, s);
}

/* The answer, once the job is through (maybe on the thread pool meanwhile). A stream that closed
 * in the meantime cleared job->user. */
static void on_exported(struct oca_otlp_job *job)
{
    struct oca_http_stream *s = job->user;
    if (!s)
        return;
    struct http_req *r = oca_http_stream_user(s);
    r->job = NULL;
    if (job->res.err)
        answer_failure(r->l, s, true, r->enc, &job->res, 0, NULL);
    else
        answer_success(r->l, s, r->sig, r->enc, &job->res);
}

static void on_end(struct oca_http_stream *s, const uint8_t *unused, size_t unused_len)
{
    (void)unused;
    (void)unused_len;
    struct http_req *r = oca_http_stream_user(s);
    if (!r || r->answered)
        return;
    if (oca_otlp_body_finish(&r->body) != OCA_OK) {
        if (r->body.counting)
            oca_counters_add(r->l->rx->self->counters, OCA_EDGE_REFUSED, r->sig, r->body.counter.items);
        refuse_body(r, s);
        return;
    }
    /* The body's bytes and their budget charge go to the job. */
    uint8_t *data = r->body.data;
    size_t len = r->body.len, held = r->body.charged;
    r->body.data = NULL;
    r->body.len = r->body.cap = r->body.charged = 0;
    oca_otlp_body_free(&r->body);
    r->answered = true;
    struct oca_otlp_from from = { oca_http_stream_peer(s), s, r->l->include_metadata };
    r->job = oca_otlp_job_new(r->l->rx->self, r->sig, r->enc, on_exported, s);
    oca_otlp_job_submit(r->job, data ? data : (const uint8_t *)"", len, data, held, &from);
}

static void on_close(struct oca_http_stream *s)
{
    struct http_req *r = oca_http_stream_user(s);
    if (!r)
        return;
    if (r->job)
        r->job->user = NULL;
    oca_otlp_body_free(&r->body);
    free(r);
}

const struct oca_http_handler oca_otlp_http_handler = {
    .on_headers = on_headers,
    .on_body = on_body,
    .on_end = on_end,
    .on_close = on_close,
};
