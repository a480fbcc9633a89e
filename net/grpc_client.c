/* Unary gRPC calls over the outbound HTTP client (see grpc_client.h): frames (and gzips) the
 * request, POSTs it over HTTP/2 with the gRPC headers, and reads the answer's status from the
 * trailers (or a trailers-only response), its RetryInfo from grpc-status-details-bin and its one
 * message from the body. Framing, percent-coding and base64 are net/grpc.c's, shared with the
 * server side. */
#include "net/grpc_client.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/errors.h"
#include "base/mem.h"
#include "codec/gzip.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "net/grpc.h"
#include "version.h"

#define HDR(n, v) { n, sizeof(n) - 1, v, sizeof(v) - 1 }

/* The gRPC code gRPC's doc/http-grpc-status-mapping.md gives a response without grpc-status. */
static int status_from_http(int http)
{
    switch (http) {
    case 400: return OCA_GRPC_INTERNAL;
    case 401: return OCA_GRPC_UNAUTHENTICATED;
    case 403: return OCA_GRPC_PERMISSION_DENIED;
    case 404: return OCA_GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504: return OCA_GRPC_UNAVAILABLE;
    default: return OCA_GRPC_UNKNOWN;
    }
}

static bool parse_status(const struct oca_http_header *h, int *out)
{
    if (h->value_len == 0 || h->value_len > 9)
        return false;
    int v = 0;
    for (size_t i = 0; i < h->value_len; i++) {
        if (h->value[i] < '0' || h->value[i] > '9')
            return false;
        v = v * 10 + (h->value[i] - '0');
    }
    *out = v;
    return true;
}

/* RetryInfo.retry_delay among the details of a serialized google.rpc.Status; -1 when absent. */
static int64_t retry_delay_of(const uint8_t *p, size_t n)
{
    int64_t delay = -1;
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, n, p);
    if (!st)
        return -1;
    for (size_t i = 0; i < st->n_details && delay < 0; i++) {
        const Google__Protobuf__Any *any = st->details[i];
        const char *t = any->type_url ? strrchr(any->type_url, '/') : NULL;
        if (!t || strcmp(t + 1, "google.rpc.RetryInfo") != 0)
            continue;
        Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(NULL, any->value.len, any->value.data);
        if (!ri)
            continue;
        if (ri->retry_delay && ri->retry_delay->seconds >= 0 && ri->retry_delay->nanos >= 0 &&
            ri->retry_delay->seconds < INT64_MAX / OCA_NS_PER_S - 1)
            delay = ri->retry_delay->seconds * OCA_NS_PER_S + ri->retry_delay->nanos % OCA_NS_PER_S;
        google__rpc__retry_info__free_unpacked(ri, NULL);
    }
    google__rpc__status__free_unpacked(st, NULL);
    return delay;
}

/* The parts of a result that live in scratch, as offsets until scratch stops growing. */
struct parts {
    struct oca_buf buf;
    size_t message, detail, msg;
    bool has_detail, has_msg;
    size_t msg_len;
};

static void set_detail(struct parts *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_detail(struct parts *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = oca_xvasprintf(fmt, ap);
    va_end(ap);
    p->detail = p->buf.len;
    p->has_detail = true;
    oca_buf_append(&p->buf, text, strlen(text) + 1);
    free(text);
}

/* The response message: the first one in the body (gzip-decoded when grpc-encoding says so). */
static void read_message(const struct oca_http_response *r, struct oca_grpc_result *res, struct parts *p)
{
    const struct oca_http_header *enc = oca_http_response_header(r, "grpc-encoding");
    enum oca_grpc_encoding e = OCA_GRPC_ENC_IDENTITY;
    if (enc && enc->value_len == 4 && strncasecmp(enc->value, "gzip", 4) == 0)
        e = OCA_GRPC_ENC_GZIP;
    struct oca_grpc_deframer d;
    oca_grpc_deframer_init(&d, e, OCA_HTTP_CLIENT_MAX_RESPONSE);
    oca_grpc_deframer_feed(&d, r->body, r->body_len);
    const uint8_t *msg = NULL;
    size_t len = 0;
    const char *why = NULL;
    int k = oca_grpc_deframer_next(&d, &msg, &len, &why);
    if (k == 1) {
        p->msg = p->buf.len;
        p->msg_len = len;
        p->has_msg = true;
        oca_buf_append(&p->buf, msg, len);
    } else if (k < 0 || oca_grpc_deframer_pending(&d) > 0) {
        /* The call succeeded on the server but its answer cannot be read: as grpc-go, INTERNAL. */
        res->grpc_status = k < 0 ? -k : OCA_GRPC_INTERNAL;
        p->message = p->buf.len;
        oca_buf_puts(&p->buf, k < 0 ? why : "grpc: response ended inside a message");
        oca_buf_putc(&p->buf, '\0');
    } else {
        /* No message at all: taken as an empty one (every OTLP response field is optional). */
        p->has_msg = true;
        p->msg_len = 0;
        p->msg = p->buf.len;
    }
    oca_grpc_deframer_free(&d);
}

void oca_grpc_read_response(const struct oca_http_response *r, struct oca_grpc_result *res, void **scratch)
{
    struct parts p = { 0 };
    memset(res, 0, sizeof(*res));
    res->retry_delay_ns = -1;
    res->grpc_message = "";
    res->err = r->err;
    *scratch = NULL;
    if (r->err != OCA_OK) {
        res->detail = r->detail ? r->detail : oca_err_message(r->err);
        res->grpc_status = r->err == OCA_ERR_TIMEOUT ? OCA_GRPC_DEADLINE_EXCEEDED : OCA_GRPC_UNAVAILABLE;
        return;
    }
    res->http_status = r->status;
    p.message = 0;
    oca_buf_putc(&p.buf, '\0');     /* offset 0: the empty grpc-message */
    const struct oca_http_header *st = oca_http_response_header(r, "grpc-status");
    const struct oca_http_header *ct = oca_http_response_header(r, "content-type");
    if (!st) {
        /* Not a gRPC answer (a proxy's error page, an HTTP/1.1 server): the status comes from the
         * HTTP status and the call counts as not delivered. */
        res->err = OCA_ERR_UNAVAILABLE;
        res->grpc_status = status_from_http(r->status);
        if (r->status == 200)
            set_detail(&p, "gRPC response without grpc-status (content-type %.*s)",
                       ct ? (int)ct->value_len : 4, ct ? ct->value : "none");
        else
            set_detail(&p, "not a gRPC response: HTTP %d (content-type %.*s)", r->status,
                       ct ? (int)ct->value_len : 4, ct ? ct->value : "none");
        goto out;
    }
    if (!parse_status(st, &res->grpc_status)) {
        res->grpc_status = OCA_GRPC_INTERNAL;
        p.message = p.buf.len;
        oca_buf_printf(&p.buf, "malformed grpc-status \"%.*s\"", (int)(st->value_len > 20 ? 20 : st->value_len),
                       st->value);
        oca_buf_putc(&p.buf, '\0');
        goto out;
    }
    const struct oca_http_header *gm = oca_http_response_header(r, "grpc-message");
    if (gm && gm->value_len) {
        p.message = p.buf.len;
        oca_buf_reserve(&p.buf, gm->value_len + 1);
        p.buf.len += oca_grpc_percent_decode(gm->value, gm->value_len, p.buf.data + p.buf.len);
        oca_buf_putc(&p.buf, '\0');
    }
    const struct oca_http_header *det = oca_http_response_header(r, "grpc-status-details-bin");
    if (det && det->value_len) {
        uint8_t *bin = oca_xmalloc(3 * (det->value_len + 3) / 4 + 1);
        long n = oca_grpc_base64_decode(det->value, det->value_len, bin);
        if (n >= 0)
            res->retry_delay_ns = retry_delay_of(bin, (size_t)n);
        free(bin);
    }
    if (res->grpc_status == OCA_GRPC_OK)
        read_message(r, res, &p);
out:
    *scratch = p.buf.data;
    res->grpc_message = p.buf.data + p.message;
    if (p.has_detail)
        res->detail = p.buf.data + p.detail;
    if (p.has_msg && res->grpc_status == OCA_GRPC_OK) {
        res->msg = (const uint8_t *)p.buf.data + p.msg;
        res->msg_len = p.msg_len;
    }
}

struct call {
    oca_grpc_done_cb done;
    void *arg;
    uint8_t *body;          /* oca_grpc_unary's framed copy (ours to free), or NULL */
    size_t body_len;
    uint8_t prefix[OCA_GRPC_PREFIX_LEN];    /* oca_grpc_unary_pieces': sent before the pieces */
    struct oca_slice *pieces;               /* that prefix, then the caller's pieces */
    size_t n_pieces;
};

static void call_done(void *arg, const struct oca_http_response *r)
{
    struct call *call = arg;
    struct oca_grpc_result res;
    void *scratch = NULL;
    oca_grpc_read_response(r, &res, &scratch);
    call->done(call->arg, &res);
    free(scratch);
    free(call->body);
    free(call->pieces);
    free(call);
}

/* The 5-byte prefix of a message of n bytes: compressed flag, big-endian length. */
static void write_prefix(uint8_t *p, size_t n, bool compressed)
{
    p[0] = compressed ? 1 : 0;
    p[1] = (uint8_t)(n >> 24);
    p[2] = (uint8_t)(n >> 16);
    p[3] = (uint8_t)(n >> 8);
    p[4] = (uint8_t)n;
}

/* The framed message: 5-byte prefix (compressed flag, big-endian length), then msg, gzipped when
 * asked (falls back to identity if zlib fails, which then says so in the flag). */
static bool frame(const uint8_t *msg, size_t len, enum oca_grpc_coding coding, uint8_t **out, size_t *out_len)
{
    struct oca_buf buf = { 0 };
    oca_buf_append(&buf, "\0\0\0\0\0", 5);
    bool compressed = coding == OCA_GRPC_GZIPPED;
    if (compressed)
        oca_buf_append(&buf, msg, len);
    else if (coding == OCA_GRPC_GZIP)
        compressed = oca_gzip(msg, len, OCA_GZIP_LEVEL, &buf) && buf.len - 5 <= UINT32_MAX;
    if (!compressed) {
        buf.len = 5;
        oca_buf_append(&buf, msg, len);
    }
    write_prefix((uint8_t *)buf.data, buf.len - OCA_GRPC_PREFIX_LEN, compressed);
    *out = (uint8_t *)buf.data;
    *out_len = buf.len;
    return compressed;
}

/* grpc-timeout: at most 8 digits, in the finest unit that fits (rounded up, never shorter). */
static void format_timeout(int64_t ns, char *out, size_t cap)
{
    static const struct { char unit; int64_t ns; } units[] = {
        { 'n', 1 }, { 'u', 1000 }, { 'm', OCA_NS_PER_MS }, { 'S', OCA_NS_PER_S }, { 'M', 60 * OCA_NS_PER_S },
        { 'H', 3600 * OCA_NS_PER_S },
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        int64_t v = ns / units[i].ns + (ns % units[i].ns ? 1 : 0);
        if (v <= 99999999 || i + 1 == sizeof(units) / sizeof(units[0])) {
            snprintf(out, cap, "%u%c", (unsigned)(v > 99999999 ? 99999999 : v), units[i].unit);
            return;
        }
    }
}

/* Starts the call whose framed body is in call (its copy, or its prefix and the caller's pieces),
 * compressed with encoding (NULL: identity). */
static int start_call(struct oca_http_client *c, const char *base_url, const char *path,
                      const struct oca_http_header *md, size_t n_md, const char *encoding, int64_t timeout_ns,
                      struct call *call)
{
    size_t bl = strlen(base_url);
    while (bl > 0 && base_url[bl - 1] == '/')
        bl--;
    struct oca_buf url = { 0 };
    oca_buf_printf(&url, "%.*s%s", (int)bl, base_url, path);
    char timeout[24];
    struct oca_http_header *h = oca_xcalloc(n_md + 8, sizeof(*h));
    size_t n = 0;
    h[n++] = (struct oca_http_header)HDR("content-type", "application/grpc");
    h[n++] = (struct oca_http_header)HDR("te", "trailers");
    h[n++] = (struct oca_http_header)HDR("grpc-accept-encoding", "identity,gzip");
    h[n++] = (struct oca_http_header)HDR("user-agent", "grpc-c-ocagent/" OCA_VERSION);
    if (encoding)
        h[n++] = (struct oca_http_header){ "grpc-encoding", 13, encoding, strlen(encoding) };
    if (timeout_ns > 0) {
        format_timeout(timeout_ns, timeout, sizeof(timeout));
        h[n++] = (struct oca_http_header){ "grpc-timeout", 12, timeout, strlen(timeout) };
    }
    for (size_t i = 0; i < n_md; i++)
        h[n++] = md[i];
    struct oca_http_request req = {
        .method = "POST", .url = url.data, .version = OCA_HTTP_VERSION_2, .headers = h, .n_headers = n,
        .body = call->body, .body_len = call->body_len, .pieces = call->pieces, .n_pieces = call->n_pieces,
        .timeout_ns = timeout_ns,
    };
    int err = oca_http_client_send(c, &req, call_done, call);
    free(h);
    oca_buf_free(&url);
    if (err != OCA_OK) {
        free(call->body);
        free(call->pieces);
        free(call);
    }
    return err;
}

int oca_grpc_unary(struct oca_http_client *c, const char *base_url, const char *path,
                   const struct oca_http_header *md, size_t n_md, const uint8_t *msg, size_t msg_len,
                   enum oca_grpc_coding coding, int64_t timeout_ns, oca_grpc_done_cb done, void *arg)
{
    struct call *call = oca_xcalloc(1, sizeof(*call));
    call->done = done;
    call->arg = arg;
    bool compressed = frame(msg, msg_len, coding, &call->body, &call->body_len);
    return start_call(c, base_url, path, md, n_md, compressed ? "gzip" : NULL, timeout_ns, call);
}

int oca_grpc_unary_pieces(struct oca_http_client *c, const char *base_url, const char *path,
                          const struct oca_http_header *md, size_t n_md, const struct oca_slice *msg, size_t n,
                          const char *encoding, int64_t timeout_ns, oca_grpc_done_cb done, void *arg)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += msg[i].len;
    assert(len <= UINT32_MAX);
    struct call *call = oca_xcalloc(1, sizeof(*call));
    call->done = done;
    call->arg = arg;
    write_prefix(call->prefix, len, encoding != NULL);
    call->pieces = oca_xmalloc((n + 1) * sizeof(*call->pieces));
    call->pieces[0] = (struct oca_slice){ call->prefix, sizeof(call->prefix) };
    if (n)
        memcpy(call->pieces + 1, msg, n * sizeof(*msg));
    call->n_pieces = n + 1;
    return start_call(c, base_url, path, md, n_md, encoding, timeout_ns, call);
}
