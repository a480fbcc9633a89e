/* The pure parts of the OTLP exporters (see otlp.h): where to send each signal, what a backend's
 * answer says (partial_success of an export response, google.rpc.Status of an error). No I/O here, so all of it is unit-tested directly. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "codec/otlp_json.h"
#include "exporters/otlp/otlp.h"
#include "google/rpc/status.pb-c.h"

static const char *skip_scheme(const char *s, bool *https)
{
    *https = false;
    if (strncasecmp(s, "https://", 8) == 0) {
        *https = true;
        return s + 8;
    }
    if (strncasecmp(s, "http://", 7) == 0)
        return s + 7;
    return s;
}

int oca_otlpexp_grpc_url(const char *endpoint, bool insecure, char **url, char *why, size_t why_size)
{
    *url = NULL;
    if (!endpoint || !*endpoint) {
        snprintf(why, why_size, "endpoint must be set (host:port)");
        return OCA_ERR_CONFIG;
    }
    bool https;
    const char *hp = skip_scheme(endpoint, &https);
    const char *port;
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (!close || close == hp + 1 || close[1] != ':') {
            snprintf(why, why_size, "\"%s\": expected [ipv6]:port", endpoint);
            return OCA_ERR_CONFIG;
        }
        port = close + 2;
    } else {
        const char *colon = strrchr(hp, ':');
        if (!colon || colon == hp) {
            snprintf(why, why_size, "\"%s\": expected host:port", endpoint);
            return OCA_ERR_CONFIG;
        }
        port = colon + 1;
        for (const char *p = hp; p < colon; p++)
            if (*p == ':' || *p == '/' || *p == '@' || (unsigned char)*p <= ' ') {
                snprintf(why, why_size, "\"%s\": expected host:port", endpoint);
                return OCA_ERR_CONFIG;
            }
    }
    char *end;
    long n = *port ? strtol(port, &end, 10) : -1;
    if (n < 1 || n > 65535 || *end || !isdigit((unsigned char)*port)) {
        snprintf(why, why_size, "\"%s\": the port must be a number from 1 to 65535", endpoint);
        return OCA_ERR_CONFIG;
    }
    bool tls = https || !insecure;
    size_t len = strlen(hp) + sizeof("https://");
    *url = oca_xmalloc(len);
    snprintf(*url, len, "%s%s", tls ? "https://" : "http://", hp);
    return OCA_OK;
}

bool oca_otlpexp_http_url_ok(const char *url, char *why, size_t why_size)
{
    bool https;
    const char *rest = skip_scheme(url, &https);
    if (rest == url) {
        snprintf(why, why_size, "\"%s\": expected an http:// or https:// URL", url);
        return false;
    }
    if (strcspn(rest, "/?#") == 0) {
        snprintf(why, why_size, "\"%s\": the URL has no host", url);
        return false;
    }
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            snprintf(why, why_size, "\"%s\": a URL may not contain blanks or control characters", url);
            return false;
        }
    return true;
}

char *oca_otlpexp_signal_url(const char *endpoint, const char *override, enum oca_signal sig)
{
    if (override && *override)
        return oca_xstrdup(override);
    if (!endpoint || !*endpoint)
        return NULL;
    size_t n = strlen(endpoint);
    const char *sep = endpoint[n - 1] == '/' ? "" : "/";
    const char *name = oca_signal_name(sig);
    size_t len = n + strlen(name) + sizeof("/v1/");
    char *url = oca_xmalloc(len);
    snprintf(url, len, "%s%sv1/%s", endpoint, sep, name);
    return url;
}

static const ProtobufCMessageDescriptor *response_descriptor(enum oca_signal sig)
{
    switch (sig) {
    case OCA_SIGNAL_TRACES: return &opentelemetry__proto__collector__trace__v1__export_trace_service_response__descriptor;
    case OCA_SIGNAL_METRICS: return &opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__descriptor;
    default: return &opentelemetry__proto__collector__logs__v1__export_logs_service_response__descriptor;
    }
}

static void copy_message(char *out, size_t size, const char *msg)
{
    snprintf(out, size, "%s", msg ? msg : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            *p = ' ';
}

/* Fills out from a decoded response; every signal's PartialSuccess is (rejected count, message). */
static void read_partial(enum oca_signal sig, const ProtobufCMessage *m, struct oca_otlpexp_partial *out)
{
    switch (sig) {
    case OCA_SIGNAL_TRACES: {
        const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r = (const void *)m;
        if (r->partial_success) {
            out->rejected = r->partial_success->rejected_spans;
            copy_message(out->message, sizeof(out->message), r->partial_success->error_message);
        }
        break;
    }
    case OCA_SIGNAL_METRICS: {
        const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse *r = (const void *)m;
        if (r->partial_success) {
            out->rejected = r->partial_success->rejected_data_points;
            copy_message(out->message, sizeof(out->message), r->partial_success->error_message);
        }
        break;
    }
    default: {
        const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse *r = (const void *)m;
        if (r->partial_success) {
            out->rejected = r->partial_success->rejected_log_records;
            copy_message(out->message, sizeof(out->message), r->partial_success->error_message);
        }
        break;
    }
    }
}

int oca_otlpexp_parse_partial(enum oca_signal sig, enum oca_encoding enc, const uint8_t *body, size_t len,
                              struct oca_otlpexp_partial *out)
{
    out->rejected = 0;
    out->message[0] = '\0';
    if (len == 0)
        return OCA_OK;
    const ProtobufCMessageDescriptor *desc = response_descriptor(sig);
    if (enc == OCA_ENCODING_JSON) {
        struct oca_arena *arena = oca_arena_new(1024);
        ProtobufCMessage *m;
        int err = oca_otlp_json_decode(desc, (const char *)body, len, arena, &m, NULL, 0);
        if (err == OCA_OK)
            read_partial(sig, m, out);
        oca_arena_destroy(arena);
        return err;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, body);
    if (!m)
        return OCA_ERR_DECODE;
    read_partial(sig, m, out);
    protobuf_c_message_free_unpacked(m, NULL);
    return OCA_OK;
}

void oca_otlpexp_log_partial(const char *who, enum oca_signal sig, const struct oca_otlpexp_partial *p)
{
    if (p->rejected == 0 && !p->message[0])
        return;
    oca_log_warn(who, "partial success: the backend rejected %" PRId64 " %s%s%s", p->rejected,
                 oca_signal_item_name(sig), p->message[0] ? ": " : "", p->message);
}

bool oca_otlpexp_media_type_is(const char *content_type, const char *want)
{
    if (!content_type)
        return false;
    while (*content_type == ' ' || *content_type == '\t')
        content_type++;
    size_t n = strcspn(content_type, "; \t");
    return n == strlen(want) && strncasecmp(content_type, want, n) == 0;
}

static bool status_from_json(const uint8_t *body, size_t len, char *out, size_t size)
{
    struct oca_arena *arena = oca_arena_new(1024);
    ProtobufCMessage *m;
    bool ok = oca_otlp_json_decode(&google__rpc__status__descriptor, (const char *)body, len, arena, &m, NULL, 0) == OCA_OK;
    const Google__Rpc__Status *st = ok ? (const void *)m : NULL;
    ok = st && st->message && st->message[0];
    if (ok)
        copy_message(out, size, st->message);
    oca_arena_destroy(arena);
    return ok;
}

static bool status_from_proto(const uint8_t *body, size_t len, char *out, size_t size)
{
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, len, body);
    bool ok = st && st->message && st->message[0];
    if (ok)
        copy_message(out, size, st->message);
    if (st)
        google__rpc__status__free_unpacked(st, NULL);
    return ok;
}

void oca_otlpexp_status_message(const char *content_type, const uint8_t *body, size_t len, char *out,
                                size_t size)
{
    if (size == 0)
        return;
    out[0] = '\0';
    if (len == 0)
        return;
    bool json = oca_otlpexp_media_type_is(content_type, "application/json");
    bool text = content_type && strncasecmp(content_type, "text/", 5) == 0;
    if (json && status_from_json(body, len, out, size))
        return;
    /* Anything that is neither JSON nor text may be the protobuf Status the OTLP spec asks for. */
    if (!json && !text && status_from_proto(body, len, out, size))
        return;
    size_t n = len < size - 1 ? len : size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = body[i] < ' ' || body[i] == 0x7f ? ' ' : (char)body[i];
    out[n] = '\0';
    while (n > 0 && out[n - 1] == ' ')
        out[--n] = '\0';
}

const char *oca_otlpexp_grpc_code_name(int code, char buf[16])
{
    static const char *const names[] = {
        "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
        "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
        "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
    };
    if (code >= 0 && (size_t)code < sizeof(names) / sizeof(names[0]))
        return names[code];
    snprintf(buf, 16, "Code(%d)", code);
    return buf;
}
