/* The parts shared by the two OTLP exporters, `otlp` (gRPC, grpc.c) and `otlphttp` (HTTP, http.c):
 * wire.c holds what is pure (where to send, how to read an answer); the lifecycle both have
 * in common is the push exporter's (exporters/exporterhelper/push.h). Nothing outside this folder
 * includes this header, except the unit tests. */
#ifndef OCA_EXPORTERS_OTLP_OTLP_H
#define OCA_EXPORTERS_OTLP_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "config/fields.h"
#include "exporters/exporterhelper/push.h"
#include "net/http_client.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"

/* The base URL of the otlp exporter's gRPC server from its endpoint: "host:port", optionally
 * written with an http:// or https:// scheme as the Collector accepts. As in the Collector's
 * configgrpc, TLS is on unless tls.insecure, and an https:// scheme turns it on regardless. On
 * success *url is a new malloc'd "https://host:port" or "http://host:port" and OCA_OK is returned;
 * otherwise OCA_ERR_CONFIG with the reason in why (why_size bytes). */
int oca_otlpexp_grpc_url(const char *endpoint, bool insecure, char **url, char *why, size_t why_size);

/* Checks an otlphttp URL: http:// or https://, a host, nothing that would break a request line.
 * Returns true or false with the reason in why. */
bool oca_otlpexp_http_url_ok(const char *url, char *why, size_t why_size);

/* The URL the otlphttp exporter posts sig to: the per-signal override when set (used as given),
 * else endpoint + "/v1/traces" (or metrics, logs), without doubling a trailing '/'. A new malloc'd
 * string, or NULL when neither is set. */
char *oca_otlpexp_signal_url(const char *endpoint, const char *override, enum oca_signal sig);

/* What an Export*ServiceResponse's partial_success says. */
struct oca_otlpexp_partial {
    int64_t rejected;           /* rejected_spans, rejected_data_points or rejected_log_records */
    char message[512];          /* error_message, truncated; "" when none */
};

/* Reads the partial_success of a response of sig encoded as enc. An empty body is a full success.
 * Returns OCA_OK (out filled, zero and "" when nothing was rejected), or OCA_ERR_DECODE /
 * OCA_ERR_JSON when the body is not such a response. */
int oca_otlpexp_parse_partial(enum oca_signal sig, enum oca_encoding enc, const uint8_t *body, size_t len,
                              struct oca_otlpexp_partial *out);

/* Logs a partial success as a warning, as the Collector's exporters do (the items are counted as
 * sent all the same: the backend took the request). Logs nothing when nothing was rejected. */
void oca_otlpexp_log_partial(const char *who, enum oca_signal sig, const struct oca_otlpexp_partial *p);

/* The message to log for an HTTP error response: the google.rpc.Status it carries (protobuf, or JSON
 * when content_type says application/json) or, when the body is no Status, the body itself as text
 * (control bytes replaced, truncated). Always NUL-terminates out; "" for an empty body. */
void oca_otlpexp_status_message(const char *content_type, const uint8_t *body, size_t len, char *out,
                                size_t size);

/* The name of a gRPC status code as gRPC spells it ("InvalidArgument"), "Code(n)" beyond the table. */
const char *oca_otlpexp_grpc_code_name(int code, char buf[16]);

/* A Content-Type's media type is `want` (case-insensitive, parameters ignored). */
bool oca_otlpexp_media_type_is(const char *content_type, const char *want);

#endif
