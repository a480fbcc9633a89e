/* The push exporter: what the exporters that send each batch to a backend over the outbound HTTP
 * client share (otlp, otlphttp, zipkin, jaeger). It owns the HTTP client and the exporter helper
 * and gives them one lifecycle (shutdown drains the queue, then closes the client, so no attempt
 * is cut off by the client going away), checks the config every such exporter has (headers, tls,
 * the helper's rules), and runs each attempt's encoding and compression on libuv's thread pool
 * (a large batch takes tens to hundreds of ms to encode and gzip, which the loop must not wait
 * for) before the exporter sends it from the loop thread. */
#ifndef OCA_EXPORTERS_EXPORTERHELPER_PUSH_H
#define OCA_EXPORTERS_EXPORTERHELPER_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "config/fields.h"
#include "exporters/exporterhelper/exporterhelper.h"
#include "net/http_client.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"

/* The compression key every push exporter has (each its own default): "gzip", "zstd" or "none",
 * as the Collector's (which also has snappy, zlib, deflate and lz4). */
enum oca_push_compression { OCA_PUSH_NONE, OCA_PUSH_GZIP, OCA_PUSH_ZSTD };
extern const struct oca_enum_name oca_push_compression_names[];

/* The coding's name in Content-Encoding and grpc-encoding ("gzip", "zstd"), NULL for none. */
const char *oca_push_compression_token(enum oca_push_compression c);

/* The headers an HTTP push exporter sends with every body: Content-Type content_type (static),
 * User-Agent ocagent/<version> and, when compressed, Content-Encoding. Writes them to out, which has
 * room for OCA_PUSH_HTTP_HEADERS, and returns how many. */
#define OCA_PUSH_HTTP_HEADERS 3
size_t oca_push_http_headers(struct oca_http_header *out, const char *content_type, enum oca_push_compression c);

/* The Collector's compression_params: the level (0: the coding's own default, gzip 6 and zstd 1;
 * gzip takes 1-9, zstd 1-22). */
struct oca_push_compression_params {
    int64_t level;
};
extern const struct oca_field oca_push_compression_params_fields[];

/* The two compression rows of a push exporter's field table: `compression` (default def_, doc_)
 * and `compression_params`; S has int compression and struct oca_push_compression_params
 * compression_params. */
#define OCA_PUSH_COMPRESSION_FIELDS(S, def_, doc_) \
    OCA_FIELD_ENUM(S, compression, def_, oca_push_compression_names, doc_), \
    OCA_FIELD_SECTION(S, compression_params, struct oca_push_compression_params, \
                      oca_push_compression_params_fields, "Compression parameters, as the Collector's.")

/* The exporter embeds one as its first member, so that self->state points at both. */
struct oca_push_exporter {
    struct oca_component *self;
    const struct oca_tls_client_config *tls;
    struct oca_exporter_helper *helper;
    struct oca_http_client *client;     /* from start until shutdown is done */
    struct oca_http_header *headers;    /* the exporter's own first, then the configured ones */
    size_t n_headers;
    struct oca_waiters waiters;
    bool started, stopping;
    /* Attempts making or holding an encoding, and those waiting for the budget to make theirs
     * (see oca_push_job_start). */
    size_t encoding;
    struct oca_push_job *waiting, *waiting_tail;
};

/* Sets up p for self: fixed (n_fixed headers the exporter always sends, borrowed for p's lifetime)
 * followed by the configured headers (borrowed from the config), and the helper around ops. */
void oca_push_exporter_init(struct oca_push_exporter *p, struct oca_component *self,
                            const struct oca_exporter_helper_config *helper_cfg,
                            const struct oca_tls_client_config *tls, const struct oca_strmap *headers,
                            const struct oca_http_header *fixed, size_t n_fixed,
                            const struct oca_exporter_ops *ops, void *exporter);

/* Frees what init and start made (after shutdown's done, or when never started). */
void oca_push_exporter_free(struct oca_push_exporter *p);

/* The rules every push exporter's validate shares: the headers (oca_push_headers_ok, reported on
 * "headers"), the tls section, the compression level for the coding and the exporter helper's
 * cross-field rules. Reports through diag; returns OCA_OK or OCA_ERR_CONFIG. */
struct oca_diag;
int oca_push_exporter_validate(const struct oca_strmap *headers, const struct oca_tls_client_config *tls,
                               int compression, const struct oca_push_compression_params *params,
                               const struct oca_exporter_helper_config *helper, struct oca_diag *diag);

/* Checks configured headers (or gRPC metadata): names are HTTP tokens (RFC 9110), values hold no
 * control characters but tab (a CR or LF would smuggle in headers of its own). Returns true, or
 * false with the reason in why. */
bool oca_push_headers_ok(const struct oca_strmap *headers, char *why, size_t why_size);

/* The component slots, the same for every push exporter: self->state points at the exporter's
 * struct, whose first member is its struct oca_push_exporter. start creates the client and starts
 * the helper (OCA_ERR_CONFIG when the client cannot be set up; logged); consume queues the batch;
 * shutdown is safe without start and safe twice, and each call's done runs once. */
int oca_push_exporter_start(struct oca_component *self, uv_loop_t *loop);
int oca_push_exporter_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch);
void oca_push_exporter_shutdown(struct oca_component *self, oca_done_cb done);

/* One attempt whose bytes are made on libuv's thread pool: the exporter's encode runs there (it
 * may read the batch, which is read-only once handed on and held by the helper until the attempt
 * ends, and the exporter's config, and nothing else), then its send runs on the loop thread.
 *
 * Memory: an attempt's encoding is the one copy of its bytes on the send path, and a raw batch
 * sent without compression has none: a message is a list of pieces, bytes encode wrote into the
 * job's body (packed structs, JSON, gzip output) or a raw batch's segments where they lie (the
 * batch is held until the attempt ends), and the clients send the pieces as they are
 * (oca_grpc_unary_pieces, oca_http_request.pieces), borrowing them until the request is done.
 * The body is the job's: freed with it in oca_push_job_finish, so the bytes live for one attempt
 * only (a retry encodes again: see docs/design-notes.md), and charged to the memory budget
 * (base/budget.h, without refusal) from the end of encode until then. */
struct oca_push_job;

struct oca_push_job_ops {
    /* Thread pool. Adds the attempt's messages with oca_push_job_add or oca_push_job_add_batch
     * (usually one; several when a batch goes out as several calls). Returns OCA_OK, or an error
     * (permanent: the batch cannot be expressed) with the reason in why, which ends the attempt
     * with that error and message. */
    int (*encode)(void *exporter, struct oca_push_job *job, char *why, size_t why_size);
    /* Loop thread, after a successful encode, with the client open. Starts the request(s) and ends
     * the attempt with oca_push_job_finish, now or later. */
    void (*send)(void *exporter, struct oca_push_job *job);
};

/* A piece of a message: len bytes at data, or at off in the job's body when data is NULL (the body
 * may move while encode writes it). */
struct oca_push_piece {
    const uint8_t *data;
    size_t off, len;
};

struct oca_push_job {
    uv_work_t work;
    struct oca_push_exporter *px;
    const struct oca_push_job_ops *ops;
    void *exporter;
    enum oca_signal sig;
    const struct oca_batch *batch;      /* the helper's reference, until the attempt ends */
    int64_t timeout_ns;
    enum oca_push_compression compression;  /* of each message as it is added */
    int level;                              /* its level; 0: the coding's default */
    struct oca_send_attempt *attempt;
    struct oca_buf body;                /* the bytes encode wrote */
    struct oca_push_piece *pieces;      /* of every message, in order */
    size_t n_pieces, cap_pieces;
    struct oca_slice *slices;           /* the pieces as slices, once encode is done */
    size_t *ends;                       /* index in pieces after the last of each message */
    size_t n_msgs, cap_msgs;
    size_t charged;                     /* bytes charged to the memory budget for body */
    size_t estimate;                    /* what the encoding was expected to take; 0: nothing */
    struct oca_push_job *next;          /* in the exporter's waiting list */
    int err;                            /* of encode */
    char why[512];
};

/* Starts an attempt (from the exporter's oca_exporter_ops send): ops->encode on the pool, each
 * message compressed as compression says, at level (0: OCA_GZIP_LEVEL, OCA_ZSTD_LEVEL), then
 * ops->send on the loop thread. An attempt that cannot start (the pool refuses it), whose work is cancelled or whose client is gone ends as
 * OCA_ERR_SHUTTING_DOWN.
 *
 * An attempt that will make an encoding (compressed, or a batch of decoded structs; a raw batch
 * sent as it is makes none) first reserves its expected size in the memory budget (the batch's wire size),
 * refusably: while the budget is spent it waits until another of this exporter's encodings ends,
 * so that encodings add at most one to a full budget instead of num_consumers. The first is never
 * held back, so the queue always drains. */
void oca_push_job_start(struct oca_push_exporter *px, const struct oca_push_job_ops *ops, void *exporter,
                        enum oca_signal sig, struct oca_batch *batch, int64_t timeout_ns,
                        enum oca_push_compression compression, int level, struct oca_send_attempt *attempt);

/* Thread pool, inside encode: appends one message of len bytes (compressed as the job says),
 * copied from msg, which stays the caller's. */
void oca_push_job_add(struct oca_push_job *job, const uint8_t *msg, size_t len);

/* Thread pool, inside encode: as oca_push_job_add of msg's bytes, and msg is left empty. The first
 * message of an uncompressed job takes msg's memory instead of a copy (an encoder that
 * writes into an oca_buf, as JSON ones do, then costs no second copy). */
void oca_push_job_add_buf(struct oca_push_job *job, struct oca_buf *msg);

/* Thread pool, inside encode: appends msg's protobuf encoding as one message, packed straight into
 * the body (when compressed, a packed copy lives for the compression only). */
void oca_push_job_add_message(struct oca_push_job *job, const ProtobufCMessage *msg);

/* Thread pool, inside encode: appends the job's batch as one message, its OTLP request in
 * protobuf: a batch's raw bytes as its segments (no copy) or compressed from them, decoded structs
 * packed as oca_push_job_add_message does. */
void oca_push_job_add_batch(struct oca_push_job *job);

/* Message i of the job (i < job->n_msgs, after encode), the concatenation of the *n slices
 * returned (none for an empty message), read-only and valid until oca_push_job_finish. */
const struct oca_slice *oca_push_job_pieces(const struct oca_push_job *job, size_t i, size_t *n);

/* Ends the attempt with res (which need only live for the call) and frees the job, its body and
 * the body's budget charge. A request still borrowing the body must be done by then (call finish
 * from its done callback). */
void oca_push_job_finish(struct oca_push_job *job, const struct oca_send_result *res);

/* The delay a retryable HTTP answer asks for (its Retry-After), in ns; 0 when none or not valid. */
int64_t oca_push_retry_after(const struct oca_http_response *resp);

#endif
