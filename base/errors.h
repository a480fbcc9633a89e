/* The one table of ocagent error codes. Every function that can fail returns OCA_OK (0) or a
 * negative OCA_ERR_* code from here; receivers and exporters map codes to wire statuses only through
 * this table, so a code's class (permanent or retryable) and its HTTP and gRPC statuses live in one
 * place. */
#ifndef OCA_BASE_ERRORS_H
#define OCA_BASE_ERRORS_H

#include <stdbool.h>

enum oca_err_class { OCA_CLASS_OK, OCA_CLASS_PERMANENT, OCA_CLASS_RETRYABLE };

/* X(name, message, class, http status, grpc status code) */
#define OCA_ERRORS(X) \
    X(INVALID,        "invalid data",                      OCA_CLASS_PERMANENT, 400, 3)  \
    X(DECODE,         "malformed protobuf",                OCA_CLASS_PERMANENT, 400, 3)  \
    X(JSON,           "malformed JSON",                    OCA_CLASS_PERMANENT, 400, 3)  \
    X(TOO_LARGE,      "request too large",                 OCA_CLASS_PERMANENT, 413, 8)  \
    X(MEDIA_TYPE,     "unsupported media type",            OCA_CLASS_PERMANENT, 415, 3)  \
    X(NOT_FOUND,      "not found",                         OCA_CLASS_PERMANENT, 404, 12) \
    X(UNSUPPORTED,    "signal not supported",              OCA_CLASS_PERMANENT, 400, 12) \
    X(CONFIG,         "invalid configuration",             OCA_CLASS_PERMANENT, 500, 13) \
    X(IO,             "input/output error",                OCA_CLASS_RETRYABLE, 503, 14) \
    X(QUEUE_FULL,     "sending queue is full",             OCA_CLASS_RETRYABLE, 503, 14) \
    X(MEMORY_LIMIT,   "memory budget exhausted",           OCA_CLASS_RETRYABLE, 503, 14) \
    X(SHUTTING_DOWN,  "agent is shutting down",            OCA_CLASS_RETRYABLE, 503, 14) \
    X(TIMEOUT,        "timed out",                         OCA_CLASS_RETRYABLE, 503, 4)  \
    X(UNAVAILABLE,    "backend unavailable",               OCA_CLASS_RETRYABLE, 503, 14) \
    X(THROTTLED,      "too many requests",                 OCA_CLASS_RETRYABLE, 429, 8)  \
    X(REJECTED,       "rejected by the backend",           OCA_CLASS_PERMANENT, 500, 13)

enum oca_err {
    OCA_OK = 0,
    OCA_ERR__BASE = -1000,
#define OCA_ERR_ENUM(name, msg, cls, http, grpc) OCA_ERR_##name,
    OCA_ERRORS(OCA_ERR_ENUM)
#undef OCA_ERR_ENUM
    OCA_ERR__END
};

/* Lookups; an unknown code reads as a permanent "unknown error" with HTTP 500 and gRPC UNKNOWN. */
const char *oca_err_name(int err);
const char *oca_err_message(int err);
enum oca_err_class oca_err_class(int err);
int oca_err_http_status(int err);
int oca_err_grpc_status(int err);
static inline bool oca_err_retryable(int err) { return oca_err_class(err) == OCA_CLASS_RETRYABLE; }

#endif
