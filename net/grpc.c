/* The gRPC server layer (see grpc.h): takes over HTTP/2 streams whose content-type is
 * application/grpc, routes them by path to a receiver's methods, deframes and decompresses the
 * request messages (with max_recv_msg_size), runs the grpc-timeout deadline, and frames responses
 * and the grpc-status trailers. Errors found before a method runs are answered here. */
#include "net/grpc.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "codec/unzstd.h"

#define DEFAULT_MAX_MSG (4u * 1024 * 1024)

/* The deframer. */

void oca_grpc_deframer_init(struct oca_grpc_deframer *d, enum oca_grpc_encoding enc, uint64_t max_msg)
{
    memset(d, 0, sizeof(*d));
    d->encoding = enc;
    d->max_msg = max_msg ? max_msg : DEFAULT_MAX_MSG;
}

void oca_grpc_deframer_free(struct oca_grpc_deframer *d)
{
    free(d->buf);
    free(d->out);
    d->buf = d->out = NULL;
    d->len = d->cap = d->off = d->out_cap = 0;
}

void oca_grpc_deframer_feed(struct oca_grpc_deframer *d, const uint8_t *data, size_t len)
{
    if (d->err || len == 0)
        return;
    if (d->off > 0) {
        memmove(d->buf, d->buf + d->off, d->len - d->off);
        d->len -= d->off;
        d->off = 0;
    }
    if (d->len + len > d->cap) {
        size_t cap = d->cap ? d->cap : 4096;
        while (cap < d->len + len)
            cap *= 2;
        /* Once the next message's length is known (and within the limit), room for all of it at
         * once, rather than five reallocs for a 56 KB message each copying what came; but never
         * more than four times what has arrived, so a sender cannot make a call reserve
         * max_msg bytes with a 5-byte header. */
        const uint8_t *h = d->len >= 5 ? d->buf : d->len == 0 && len >= 5 ? data : NULL;
        if (h) {
            uint64_t n = (uint64_t)h[1] << 24 | (uint64_t)h[2] << 16 | (uint64_t)h[3] << 8 | h[4];
            uint64_t want = 5 + n, most = 4 * (uint64_t)(d->len + len);
            if (n <= d->max_msg && want > cap)
                cap = (size_t)(want < most ? want : most > cap ? most : cap);
        }
        d->buf = oca_xrealloc(d->buf, cap);
        d->cap = cap;
    }
    memcpy(d->buf + d->len, data, len);
    d->len += len;
}

static int deframer_error(struct oca_grpc_deframer *d, int status, const char **why)
{
    d->err = status;
    *why = d->why;
    return -status;
}

/* Makes d->out larger than have bytes (which it holds) for a message of n compressed bytes, never
 * past max_msg + 1 (one byte more shows the limit is passed). False when it is at that size. */
static bool grow_out(struct oca_grpc_deframer *d, size_t have, size_t n)
{
    size_t limit = d->max_msg;
    size_t cap = d->out_cap ? d->out_cap * 2 : (n * 4 < 4096 ? 4096 : n * 4);
    if (cap > limit + 1)
        cap = limit + 1;
    if (cap <= have)
        return false;
    d->out = oca_xrealloc(d->out, cap);
    d->out_cap = cap;
    return true;
}

static int too_large_after(struct oca_grpc_deframer *d, const char **why)
{
    snprintf(d->why, sizeof(d->why), "grpc: received message after decompression larger than max (%" PRIu64 ")",
             d->max_msg);
    return deframer_error(d, OCA_GRPC_RESOURCE_EXHAUSTED, why);
}

/* Inflates one gzip (or zlib) message into d->out, never past max_msg bytes. */
static int inflate_message(struct oca_grpc_deframer *d, const uint8_t *in, size_t n, size_t *out_len,
                           const char **why)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 15 + 32) != Z_OK) {
        snprintf(d->why, sizeof(d->why), "grpc: cannot start decompression");
        return deframer_error(d, OCA_GRPC_INTERNAL, why);
    }
    size_t limit = d->max_msg;
    size_t have = 0;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    int rc = Z_OK;
    for (;;) {
        if (have == d->out_cap && !grow_out(d, have, n)) {
            inflateEnd(&z);
            return too_large_after(d, why);
        }
        z.next_out = d->out + have;
        z.avail_out = (uInt)(d->out_cap - have);
        rc = inflate(&z, Z_NO_FLUSH);
        have = d->out_cap - z.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_BUF_ERROR && z.avail_in == 0) {
            rc = Z_DATA_ERROR;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            break;
        if (have > limit)
            break;
    }
    inflateEnd(&z);
    if (have > limit)
        return too_large_after(d, why);
    if (rc != Z_STREAM_END) {
        snprintf(d->why, sizeof(d->why), "grpc: failed to decompress the received message: %s",
                 rc == Z_DATA_ERROR ? "corrupt or truncated gzip data" : "decompression error");
        return deframer_error(d, OCA_GRPC_INTERNAL, why);
    }
    *out_len = have;
    return 1;
}

/* Decompresses one zstd message (one frame or several in a row, as grpc-go's zstd codec reads
 * them) into d->out, never past max_msg bytes, with the window bounded by codec/unzstd.h. The
 * decoder lives for this message only, so its window is not held between messages. */
static int unzstd_message(struct oca_grpc_deframer *d, const uint8_t *in, size_t n, size_t *out_len,
                          const char **why)
{
    /* A first frame that declares its size gets room for all of it: libzstd then decodes the
     * whole frame straight into d->out, with no window of its own and no copy. */
    unsigned long long declared = ZSTD_getFrameContentSize(in, n);
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR) {
        if (declared > d->max_msg)
            return too_large_after(d, why);
        if (declared > d->out_cap) {
            d->out = oca_xrealloc(d->out, (size_t)declared);
            d->out_cap = (size_t)declared;
        }
    }
    ZSTD_DStream *zs = oca_unzstd_new(d->max_msg);
    ZSTD_inBuffer src = { in, n, 0 };
    size_t have = 0, zr = 0;
    bool full = false;          /* the last step filled the output: libzstd may hold more */
    while (src.pos < src.size || full) {
        if (have == d->out_cap && !grow_out(d, have, n)) {
            ZSTD_freeDStream(zs);
            return too_large_after(d, why);
        }
        ZSTD_outBuffer dst = { d->out, d->out_cap, have };
        zr = ZSTD_decompressStream(zs, &dst, &src);
        if (ZSTD_isError(zr))
            break;
        full = dst.pos == dst.size && zr != 0;
        have = dst.pos;
    }
    ZSTD_freeDStream(zs);
    if (oca_unzstd_window_refused(zr)) {
        snprintf(d->why, sizeof(d->why), "grpc: zstd message needs a window larger than %" PRIu64 " bytes",
                 oca_unzstd_window_max(d->max_msg));
        return deframer_error(d, OCA_GRPC_RESOURCE_EXHAUSTED, why);
    }
    if (have > d->max_msg)
        return too_large_after(d, why);
    if (zr != 0) {
        snprintf(d->why, sizeof(d->why), "grpc: failed to decompress the received message: %s",
                 ZSTD_isError(zr) ? ZSTD_getErrorName(zr) : "truncated zstd data");
        return deframer_error(d, OCA_GRPC_INTERNAL, why);
    }
    *out_len = have;
    return 1;
}

int oca_grpc_deframer_next(struct oca_grpc_deframer *d, const uint8_t **msg, size_t *len, const char **why)
{
    if (d->err) {
        *why = d->why;
        return -d->err;
    }
    size_t avail = d->len - d->off;
    if (avail < 5)
        return 0;
    const uint8_t *p = d->buf + d->off;
    uint8_t flag = p[0];
    uint64_t n = (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 8 | p[4];
    if (flag > 1) {
        snprintf(d->why, sizeof(d->why), "grpc: invalid message flag %u", (unsigned)flag);
        return deframer_error(d, OCA_GRPC_INTERNAL, why);
    }
    if (n > d->max_msg) {
        snprintf(d->why, sizeof(d->why), "grpc: received message larger than max (%" PRIu64 " vs. %" PRIu64 ")",
                 n, d->max_msg);
        return deframer_error(d, OCA_GRPC_RESOURCE_EXHAUSTED, why);
    }
    if (avail - 5 < n)
        return 0;
    d->off += 5 + (size_t)n;
    if (flag == 0) {
        *msg = p + 5;
        *len = (size_t)n;
        return 1;
    }
    if (d->encoding == OCA_GRPC_ENC_IDENTITY) {
        snprintf(d->why, sizeof(d->why), "grpc: compressed flag set with identity or empty encoding");
        return deframer_error(d, OCA_GRPC_INTERNAL, why);
    }
    size_t out_len = 0;
    int r = d->encoding == OCA_GRPC_ENC_ZSTD ? unzstd_message(d, p + 5, (size_t)n, &out_len, why)
                                             : inflate_message(d, p + 5, (size_t)n, &out_len, why);
    if (r < 0)
        return r;
    *msg = d->out ? d->out : p;
    *len = out_len;
    return 1;
}

size_t oca_grpc_deframer_pending(const struct oca_grpc_deframer *d)
{
    return d->len - d->off;
}

/* Wire helpers. */

bool oca_grpc_parse_timeout(const char *v, int64_t *ns)
{
    if (!v)
        return false;
    size_t n = strlen(v);
    if (n < 2 || n > 9)
        return false;
    int64_t x = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        x = x * 10 + (v[i] - '0');
    }
    int64_t unit;
    switch (v[n - 1]) {
    case 'H': unit = 3600 * OCA_NS_PER_S; break;
    case 'M': unit = 60 * OCA_NS_PER_S; break;
    case 'S': unit = OCA_NS_PER_S; break;
    case 'm': unit = OCA_NS_PER_MS; break;
    case 'u': unit = 1000; break;
    case 'n': unit = 1; break;
    default: return false;
    }
    /* 8 digits of hours overflow int64 nanoseconds: saturate. */
    *ns = x > INT64_MAX / unit ? INT64_MAX : x * unit;
    return true;
}

char *oca_grpc_percent_encode(const char *msg)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(msg);
    char *out = oca_xmalloc(n * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

static int hex_digit(char c)
{
    static const char digits[] = "0123456789abcdef";
    const char *p = c ? strchr(digits, tolower((unsigned char)c)) : NULL;
    return p ? (int)(p - digits) : -1;
}

size_t oca_grpc_percent_decode(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (in[i] == '%' && i + 2 < n && (hi = hex_digit(in[i + 1])) >= 0 && (lo = hex_digit(in[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    return o;
}

long oca_grpc_base64_decode(const char *in, size_t n, uint8_t *out)
{
    while (n > 0 && in[n - 1] == '=')
        n--;
    if (n % 4 == 1 || n > INT32_MAX - 4)
        return -1;
    size_t pad = (4 - n % 4) % 4;
    char *tmp = oca_xmalloc(n + pad + 1);
    memcpy(tmp, in, n);
    memset(tmp + n, '=', pad);
    tmp[n + pad] = '\0';
    /* EVP_DecodeBlock counts the padding as zero bytes and skips surrounding blanks: the length
     * is derived from the input instead, after checking every character is base64. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/')) {
            free(tmp);
            return -1;
        }
    }
    int k = n + pad ? EVP_DecodeBlock(out, (const unsigned char *)tmp, (int)(n + pad)) : 0;
    free(tmp);
    if (k < 0)
        return -1;
    return (long)(n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0));
}

static char *base64_unpadded(const uint8_t *p, size_t n)
{
    char *out = oca_xmalloc(4 * ((n + 2) / 3) + 1);
    int k = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (k > 0 && out[k - 1] == '=')
        k--;
    out[k] = '\0';
    return out;
}

bool oca_grpc_is_grpc(const struct oca_http_stream *s)
{
    const char *ct = oca_http_stream_header(s, "content-type");
    if (!ct || strncasecmp(ct, "application/grpc", 16) != 0)
        return false;
    char next = ct[16];
    return next == '\0' || next == '+' || next == ';';
}

/* Calls. */

struct oca_grpc_call {
    struct oca_grpc_router *router;
    const struct oca_grpc_method *method;
    struct oca_http_stream *s;      /* NULL once the stream closed */
    void *data;
    struct oca_grpc_deframer df;
    uv_timer_t timer;
    uint64_t deadline;
    bool headers_sent, finished, paused, delivering, req_ended, half_closed;
};

#define HDR(n, v) { n, sizeof(n) - 1, v, sizeof(v) - 1 }

static const char *who_of(const struct oca_grpc_router *r)
{
    return r && r->who ? r->who : "grpc";
}

static void call_on_body(struct oca_http_stream *s, const uint8_t *data, size_t len);
static void call_on_end(struct oca_http_stream *s, const uint8_t *body, size_t len);
static void call_on_close(struct oca_http_stream *s);

static const struct oca_http_handler call_handler = {
    .on_body = call_on_body,
    .on_end = call_on_end,
    .on_close = call_on_close,
};

/* A stream answered without a call: no callback reaches anyone. */
static const struct oca_http_handler rejected_handler = { 0 };

static void reject_http(struct oca_http_stream *s, int status, const char *text,
                        const struct oca_http_header *extra, size_t n_extra)
{
    struct oca_http_header h[4] = { HDR("content-type", "text/plain; charset=utf-8") };
    size_t n = 1;
    for (size_t i = 0; i < n_extra && n < 4; i++)
        h[n++] = extra[i];
    oca_http_stream_set_handler(s, &rejected_handler, NULL);
    oca_http_respond(s, status, h, n, text, strlen(text));
}

/* A trailers-only gRPC answer to a stream that has no call. */
static void reject_grpc(struct oca_http_stream *s, int status, const char *msg,
                        const struct oca_http_header *extra, size_t n_extra)
{
    char st[12];
    snprintf(st, sizeof(st), "%d", status);
    char *enc = oca_grpc_percent_encode(msg);
    struct oca_http_header h[5] = {
        HDR("content-type", "application/grpc"),
        { "grpc-status", 11, st, strlen(st) },
        { "grpc-message", 12, enc, strlen(enc) },
    };
    size_t n = 3;
    for (size_t i = 0; i < n_extra && n < 5; i++)
        h[n++] = extra[i];
    oca_http_stream_set_handler(s, &rejected_handler, NULL);
    oca_http_respond(s, 200, h, n, NULL, 0);
    free(enc);
}

static void deliver(struct oca_grpc_call *call);

static void deadline_cb(uv_timer_t *t)
{
    struct oca_grpc_call *call = t->data;
    if (!call->finished && call->s)
        oca_grpc_finish(call, OCA_GRPC_DEADLINE_EXCEEDED, "deadline exceeded", NULL, 0);
}

void oca_grpc_route_headers(struct oca_grpc_router *router, struct oca_http_stream *s)
{
    if (oca_http_stream_version(s) != 2) {
        reject_http(s, 505, "gRPC requires HTTP/2\n", NULL, 0);
        return;
    }
    if (strcmp(oca_http_stream_method(s), "POST") != 0) {
        static const struct oca_http_header allow[] = { HDR("allow", "POST") };
        char text[96];
        snprintf(text, sizeof(text), "invalid gRPC request method \"%.40s\"\n", oca_http_stream_method(s));
        reject_http(s, 405, text, allow, 1);
        return;
    }
    if (!oca_grpc_is_grpc(s)) {
        const char *ct = oca_http_stream_header(s, "content-type");
        char text[128];
        snprintf(text, sizeof(text), "invalid gRPC request content-type \"%.80s\"\n", ct ? ct : "");
        reject_http(s, 415, text, NULL, 0);
        return;
    }
    const char *path = oca_http_stream_path(s);
    const struct oca_grpc_method *m = NULL;
    for (size_t i = 0; i < router->n_methods; i++)
        if (router->methods[i].path && strcmp(router->methods[i].path, path) == 0)
            m = &router->methods[i];
    if (!m) {
        char msg[256];
        const char *slash = strrchr(path, '/');
        if (slash && slash != path)
            snprintf(msg, sizeof(msg), "unknown method %s for service %.*s", slash + 1, (int)(slash - path - 1),
                     path + 1);
        else
            snprintf(msg, sizeof(msg), "malformed method name: \"%.200s\"", path);
        oca_log_debug(who_of(router), "gRPC %s from %s: %s", path, oca_http_stream_peer(s), msg);
        reject_grpc(s, OCA_GRPC_UNIMPLEMENTED, msg, NULL, 0);
        return;
    }
    enum oca_grpc_encoding enc = OCA_GRPC_ENC_IDENTITY;
    const char *ge = oca_http_stream_header(s, "grpc-encoding");
    if (ge && strcasecmp(ge, "gzip") == 0) {
        enc = OCA_GRPC_ENC_GZIP;
    } else if (ge && strcasecmp(ge, "zstd") == 0) {
        enc = OCA_GRPC_ENC_ZSTD;
    } else if (ge && *ge && strcasecmp(ge, "identity") != 0) {
        static const struct oca_http_header accept[] = { HDR("grpc-accept-encoding", "identity,gzip,zstd") };
        char msg[128];
        snprintf(msg, sizeof(msg), "grpc: Decompressor is not installed for grpc-encoding \"%.60s\"", ge);
        reject_grpc(s, OCA_GRPC_UNIMPLEMENTED, msg, accept, 1);
        return;
    }
    int64_t timeout_ns = 0;
    const char *gt = oca_http_stream_header(s, "grpc-timeout");
    if (gt && !oca_grpc_parse_timeout(gt, &timeout_ns)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "malformed grpc-timeout: \"%.40s\"", gt);
        reject_grpc(s, OCA_GRPC_INTERNAL, msg, NULL, 0);
        return;
    }
    struct oca_grpc_call *call = oca_xcalloc(1, sizeof(*call));
    call->router = router;
    call->method = m;
    call->s = s;
    call->data = router->data;
    oca_grpc_deframer_init(&call->df, enc, router->max_recv_msg_size);
    uv_timer_init(oca_http_stream_loop(s), &call->timer);
    call->timer.data = call;
    oca_http_stream_set_handler(s, &call_handler, router);
    oca_http_stream_set_user(s, call);
    oca_http_stream_stream_body(s);
    if (gt) {
        uint64_t ms = (uint64_t)(timeout_ns / OCA_NS_PER_MS) + (timeout_ns % OCA_NS_PER_MS ? 1 : 0);
        call->deadline = uv_now(oca_http_stream_loop(s)) + ms;
        uv_timer_start(&call->timer, deadline_cb, ms, 0);
    }
    if (m->on_start)
        m->on_start(call);
}

static void call_on_body(struct oca_http_stream *s, const uint8_t *data, size_t len)
{
    struct oca_grpc_call *call = oca_http_stream_user(s);
    if (!call || call->finished)
        return;
    oca_grpc_deframer_feed(&call->df, data, len);
    deliver(call);
}

static void call_on_end(struct oca_http_stream *s, const uint8_t *body, size_t len)
{
    (void)body;
    (void)len;
    struct oca_grpc_call *call = oca_http_stream_user(s);
    if (!call || call->finished)
        return;
    call->req_ended = true;
    deliver(call);
}

static void free_call(uv_handle_t *h)
{
    struct oca_grpc_call *call = h->data;
    oca_grpc_deframer_free(&call->df);
    free(call);
}

static void call_on_close(struct oca_http_stream *s)
{
    struct oca_grpc_call *call = oca_http_stream_user(s);
    if (!call)
        return;
    call->s = NULL;
    call->finished = true;
    uv_timer_stop(&call->timer);
    if (call->method->on_close)
        call->method->on_close(call);
    uv_close((uv_handle_t *)&call->timer, free_call);
}

static void deliver(struct oca_grpc_call *call)
{
    if (call->delivering)
        return;
    call->delivering = true;
    while (!call->finished && !call->paused && call->s) {
        const uint8_t *msg = NULL;
        size_t len = 0;
        const char *why = NULL;
        int r = oca_grpc_deframer_next(&call->df, &msg, &len, &why);
        if (r == 1) {
            if (call->method->on_message)
                call->method->on_message(call, msg, len);
            continue;
        }
        if (r < 0) {
            oca_log_debug(who_of(call->router), "gRPC %s from %s: %s", call->method->path,
                          oca_http_stream_peer(call->s), why);
            oca_grpc_finish(call, -r, why, NULL, 0);
            break;
        }
        if (call->req_ended && !call->half_closed) {
            if (oca_grpc_deframer_pending(&call->df) > 0) {
                oca_grpc_finish(call, OCA_GRPC_INTERNAL, "grpc: request ended inside a message", NULL, 0);
                break;
            }
            call->half_closed = true;
            if (call->method->on_half_close)
                call->method->on_half_close(call);
        }
        break;
    }
    call->delivering = false;
}

static void oca_grpc_handler_on_headers(struct oca_http_stream *s)
{
    struct oca_grpc_router *router = oca_http_stream_handler_data(s);
    if (oca_grpc_is_grpc(s)) {
        oca_grpc_route_headers(router, s);
    } else if (router->fallback) {
        oca_http_stream_set_handler(s, router->fallback, router->data);
        if (router->fallback->on_headers)
            router->fallback->on_headers(s);
    } else {
        reject_http(s, 415, "unsupported media type: this endpoint serves gRPC only\n", NULL, 0);
    }
}

const struct oca_http_handler oca_grpc_handler = {
    .on_headers = oca_grpc_handler_on_headers,
};

/* Call accessors. */

void *oca_grpc_call_data(const struct oca_grpc_call *call) { return call->data; }
void oca_grpc_call_set_data(struct oca_grpc_call *call, void *data) { call->data = data; }
void *oca_grpc_call_router_data(const struct oca_grpc_call *call) { return call->router->data; }
const struct oca_grpc_method *oca_grpc_call_method(const struct oca_grpc_call *call) { return call->method; }
struct oca_http_stream *oca_grpc_call_stream(const struct oca_grpc_call *call) { return call->s; }
uint64_t oca_grpc_call_deadline(const struct oca_grpc_call *call) { return call->deadline; }
bool oca_grpc_call_done(const struct oca_grpc_call *call) { return call->finished || !call->s; }

const char *oca_grpc_call_header(const struct oca_grpc_call *call, const char *name)
{
    return call->s ? oca_http_stream_header(call->s, name) : NULL;
}

void *oca_grpc_call_take_message(struct oca_grpc_call *call, const uint8_t *msg)
{
    struct oca_grpc_deframer *d = &call->df;
    if (d->out && msg == d->out) {
        void *taken = d->out;
        d->out = NULL;
        d->out_cap = 0;
        return taken;
    }
    /* An identity message that starts the buffer: the buffer goes, with a new one for whatever
     * follows it (nothing, for a unary call). */
    if (!d->buf || msg != d->buf + 5)
        return NULL;
    void *taken = d->buf;
    size_t rest = d->len - d->off;
    d->buf = NULL;
    d->cap = 0;
    if (rest) {
        d->buf = oca_xmalloc(rest);
        memcpy(d->buf, (uint8_t *)taken + d->off, rest);
        d->cap = rest;
    }
    d->len = rest;
    d->off = 0;
    return taken;
}

void oca_grpc_call_pause(struct oca_grpc_call *call)
{
    if (call->paused || !call->s)
        return;
    call->paused = true;
    oca_http_stream_pause(call->s);
}

void oca_grpc_call_resume(struct oca_grpc_call *call)
{
    if (!call->paused || !call->s)
        return;
    call->paused = false;
    oca_http_stream_resume(call->s);
    deliver(call);
}

/* Response side. */

static int ensure_headers(struct oca_grpc_call *call, const struct oca_http_header *md, size_t n_md)
{
    if (call->headers_sent)
        return OCA_OK;
    struct oca_http_header *h = oca_xmalloc((n_md + 1) * sizeof(*h));
    h[0] = (struct oca_http_header)HDR("content-type", "application/grpc");
    if (n_md)
        memcpy(h + 1, md, n_md * sizeof(*h));
    int err = oca_http_send_headers(call->s, 200, h, n_md + 1);
    free(h);
    if (err == OCA_OK)
        call->headers_sent = true;
    return err;
}

int oca_grpc_send_headers(struct oca_grpc_call *call, const struct oca_http_header *md, size_t n_md)
{
    if (oca_grpc_call_done(call) || call->headers_sent)
        return OCA_ERR_INVALID;
    return ensure_headers(call, md, n_md);
}

int oca_grpc_send_message(struct oca_grpc_call *call, const uint8_t *msg, size_t len)
{
    if (oca_grpc_call_done(call) || len > UINT32_MAX)
        return OCA_ERR_INVALID;
    int err = ensure_headers(call, NULL, 0);
    if (err != OCA_OK)
        return err;
    uint8_t prefix[5] = { 0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
    err = oca_http_send_data(call->s, prefix, 5);
    if (err == OCA_OK && len)
        err = oca_http_send_data(call->s, msg, len);
    return err;
}

int oca_grpc_finish(struct oca_grpc_call *call, int grpc_status, const char *message,
                    const uint8_t *status_details, size_t details_len)
{
    if (oca_grpc_call_done(call))
        return OCA_ERR_INVALID;
    call->finished = true;
    uv_timer_stop(&call->timer);
    char st[12];
    snprintf(st, sizeof(st), "%d", grpc_status);
    char *enc = message && *message ? oca_grpc_percent_encode(message) : NULL;
    char *details = details_len ? base64_unpadded(status_details, details_len) : NULL;
    struct oca_http_header h[4];
    size_t n = 0;
    if (!call->headers_sent)
        h[n++] = (struct oca_http_header)HDR("content-type", "application/grpc");
    h[n++] = (struct oca_http_header){ "grpc-status", 11, st, strlen(st) };
    if (enc)
        h[n++] = (struct oca_http_header){ "grpc-message", 12, enc, strlen(enc) };
    if (details)
        h[n++] = (struct oca_http_header){ "grpc-status-details-bin", 23, details, strlen(details) };
    int err;
    if (call->headers_sent)
        err = oca_http_send_end(call->s, h, n);
    else
        err = oca_http_respond(call->s, 200, h, n, NULL, 0);
    free(enc);
    free(details);
    return err;
}

int oca_grpc_finish_err(struct oca_grpc_call *call, int err)
{
    return oca_grpc_finish(call, oca_err_grpc_status(err), err == OCA_OK ? NULL : oca_err_message(err), NULL, 0);
}
