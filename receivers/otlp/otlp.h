/* The otlp receiver's parts, shared by the files of receivers/otlp/ (and their tests and the fuzz
 * harness); nothing outside this folder includes it. otlp.c is the component (config, listeners,
 * lifecycle), http.c serves OTLP/HTTP, grpc.c the three gRPC Export methods, body.c turns a request
 * body into bytes (media type, Content-Encoding, size limits, the memory budget), job.c carries one
 * request through decoding (inline or on libuv's thread pool) to the pipeline, and export.c
 * decodes, hands on and answers: the one place where an error code becomes a wire status. */
#ifndef OCA_RECEIVERS_OTLP_OTLP_H
#define OCA_RECEIVERS_OTLP_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>
#include <zstd.h>

#include "base/buf.h"
#include "config/fields.h"
#include "net/grpc.h"
#include "net/http_server.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"

/* Config (the Collector's otlpreceiver keys). */
struct oca_otlp_cors_config {
    struct oca_strlist allowed_origins;
    struct oca_strlist allowed_headers;
    uint32_t max_age;
};

struct oca_otlp_grpc_config {
    struct oca_http_server_config server;
    uint32_t max_recv_msg_size_mib;
    bool include_metadata;
};

struct oca_otlp_http_config {
    struct oca_http_server_config server;
    char *traces_url_path;
    char *metrics_url_path;
    char *logs_url_path;
    struct oca_otlp_cors_config cors;
    bool include_metadata;
};

struct oca_otlp_protocols {
    struct oca_otlp_grpc_config grpc;
    struct oca_otlp_http_config http;
    bool grpc_present, http_present;
};

struct oca_otlp_config {
    struct oca_otlp_protocols protocols;
};

/* One listening socket and what it serves: OTLP/HTTP on its URL paths and gRPC on the three
 * Export methods, told apart by content-type. */
struct oca_otlp_listener {
    struct oca_otlp_rx *rx;
    const char *name;                               /* "grpc" or "http": the config section */
    const struct oca_http_server_config *server_cfg;
    struct oca_http_server *server;
    char *paths[OCA_SIGNAL_COUNT];                  /* URL path per signal, with a leading '/' */
    const struct oca_otlp_cors_config *cors;        /* NULL: no CORS (the grpc section has none) */
    bool include_metadata;
    struct oca_grpc_router router;
    bool started, closed;
};

struct oca_otlp_rx {
    struct oca_component *self;
    const struct oca_otlp_config *cfg;
    uv_loop_t *loop;
    struct oca_otlp_listener listeners[2];
    size_t n_listeners;
    struct oca_grpc_method methods[OCA_SIGNAL_COUNT];
    /* Requests of at least this many bytes are decoded on libuv's thread pool (job.c); SIZE_MAX
     * (one usable CPU) decodes everything on the loop thread. Set by start; tests may change it. */
    size_t offload_min;
    /* At most this many runners (uv_work items that decode waiting jobs until none is left) and
     * as many jobs waiting for them; past that the loop thread decodes itself, so every CPU
     * decodes and no queue of copied requests builds up. Set by start (CPUs - 1). */
    size_t max_jobs;
    /* Shared with the runners, under lock: the jobs waiting for a runner and those decoded, in
     * order, and how many runners are working. decoded_async wakes the loop thread for the
     * decoded ones. pool_live: lock and decoded_async exist (from start until shutdown). */
    uv_mutex_t lock;
    struct oca_otlp_job *waiting, *waiting_tail, *decoded, *decoded_tail;
    size_t n_waiting, runners;
    uv_async_t decoded_async;
    bool pool_live, pool_closing;
    /* Loop thread only: jobs handed to the pool and not finished, runner work items not
     * completed, and jobs ever handed over (tests). */
    size_t jobs, runs;
    uint64_t offloaded;
    struct oca_waiters waiters;                     /* shutdown callers to notify */
    size_t closing;                                 /* listeners still closing */
    bool shutting_down, shut_down;
};

/* The smallest request body (bytes after decompression) worth decoding on the thread pool when the
 * process may use several CPUs: below it, handing the work over and back costs the loop thread
 * about as much as decoding it there (measured: see docs/design-notes.md, "Performance"). */
#define OCA_OTLP_OFFLOAD_MIN ((size_t)8 << 10)

/* Shutdown finishes once every listener is closed and no job is left (otlp.c); job.c calls this
 * when a job finishes. */
void oca_otlp_maybe_done(struct oca_otlp_rx *rx);

/* The pool side of rx (job.c): start sets it up on loop; close, once no job and no runner is left,
 * closes it and calls oca_otlp_maybe_done when it is gone (true), or returns false when there is
 * nothing to close. */
void oca_otlp_pool_start(struct oca_otlp_rx *rx, uv_loop_t *loop);
bool oca_otlp_pool_close(struct oca_otlp_rx *rx);

/* Seconds a client is asked to wait (Retry-After, RetryInfo) after a retryable refusal. */
#define OCA_OTLP_RETRY_AFTER_S 1

/* Content-Type: application/x-protobuf or application/json (parameters such as charset ignored,
 * case-insensitive) -> OCA_OK and *enc; anything else OCA_ERR_MEDIA_TYPE. */
int oca_otlp_parse_media_type(const char *content_type, enum oca_encoding *enc);

enum oca_otlp_coding { OCA_OTLP_IDENTITY, OCA_OTLP_GZIP, OCA_OTLP_DEFLATE, OCA_OTLP_ZSTD };
/* Content-Encoding: absent, empty or identity; gzip (or x-gzip); deflate (zlib format, as the
 * Collector); zstd. Anything else is OCA_ERR_INVALID (400, as the Collector's "unsupported
 * Content-Encoding"). */
int oca_otlp_parse_coding(const char *content_encoding, enum oca_otlp_coding *coding);

/* Counting the items of a request without decoding it (count.c), for requests refused for memory:
 * their items are still counted as refused. Fed in any chunking; exact for well-formed input,
 * and it stops counting (dead) at what it cannot follow. */
#define OCA_OTLP_COUNT_DEPTH 16

struct oca_otlp_counter {
    enum oca_signal sig;
    enum oca_encoding enc;
    uint64_t items;
    bool dead;
    int depth;
    /* protobuf */
    uint64_t pos, skip, varint;
    uint64_t end[OCA_OTLP_COUNT_DEPTH];
    uint32_t field;
    int state, shift;
    /* JSON */
    bool is_array[OCA_OTLP_COUNT_DEPTH];
    int8_t step[OCA_OTLP_COUNT_DEPTH];
    uint32_t off_path;
    bool in_string, escape, reading_key, expect_key, key_ok;
    char key[32];
    size_t key_len;
};

void oca_otlp_counter_init(struct oca_otlp_counter *c, enum oca_signal sig, enum oca_encoding enc);
void oca_otlp_counter_feed(struct oca_otlp_counter *c, const uint8_t *data, size_t len);
/* The items in a whole request. */
uint64_t oca_otlp_count_items(enum oca_signal sig, enum oca_encoding enc, const uint8_t *data, size_t len);

/* Checks a protobuf request of sig without decoding it, accepting exactly what decoding accepts
 * (protobuf-c's unpack and the trace and span id lengths; walk.c), and counts its items into
 * *items. OCA_OK, or OCA_ERR_DECODE with why (when why_size > 0) saying what is wrong. Any thread. */
int oca_otlp_walk(enum oca_signal sig, const uint8_t *data, size_t len, uint64_t *items, char *why, size_t why_size);
/* For tests: the bytes all walks so far have handed protobuf-c to check singular message fields
 * given twice. A walk adds at most its request's length (walk.c, walk_message). */
size_t oca_otlp_walk_merge_bytes(void);

/* A request body on its way in: bytes as they arrive, decompressed incrementally (zlib, libzstd)
 * into a buffer charged to the memory budget as it grows. Nothing beyond max bytes (received or
 * decompressed) is ever allocated, so a gzip or zstd bomb costs at most max; libzstd's window is
 * bounded by codec/unzstd.h and charged as far as it can have been written. On the first error the
 * buffer is freed, its charge given back, and every later call returns that error; why says what
 * happened, for the client.
 * With counting on (oca_otlp_body_count_refused), a refusal for memory (OCA_ERR_MEMORY_LIMIT) does
 * not end the reading: the rest of the body streams through an item counter instead of the buffer
 * (compressed bodies through a small window), so the refused items are known when it ends. */
struct oca_otlp_body {
    enum oca_otlp_coding coding;
    uint64_t max;               /* max_request_body_size: bytes received and bytes decompressed */
    uint8_t *data;              /* the (decompressed) body so far */
    size_t len, cap;
    size_t charged;             /* budget bytes held for data (its capacity) */
    uint64_t raw;               /* bytes received */
    uint64_t total;             /* bytes decompressed (counting mode: also those not kept) */
    z_stream z;
    bool z_live;                /* inflate initialised */
    bool z_end;                 /* the compressed stream has ended (zstd: no frame is partly read) */
    ZSTD_DStream *zs;           /* zstd: the decoder, from the first byte to the end */
    size_t zs_base;             /* its bare context's size, not charged (as zlib's state is not) */
    size_t zs_charged;          /* budget bytes held for its buffers (window, input block) */
    bool count_refused;         /* count instead of stopping when memory is refused */
    bool counting;              /* refused for memory, counting what comes */
    struct oca_otlp_counter counter;
    uint8_t *window;            /* counting a compressed body: where it is inflated to */
    int err;
    char why[200];
};

void oca_otlp_body_init(struct oca_otlp_body *b, enum oca_otlp_coding coding, uint64_t max);
/* Turns counting on for a body of sig in enc (see above). */
void oca_otlp_body_count_refused(struct oca_otlp_body *b, enum oca_signal sig, enum oca_encoding enc);
/* The sender announced raw_len bytes (Content-Length): refuses at once what cannot fit (413) or
 * cannot fit now (503), and for identity bodies reserves the whole buffer in one charge. */
int oca_otlp_body_expect(struct oca_otlp_body *b, uint64_t raw_len);
/* The next bytes as received. OCA_OK, OCA_ERR_TOO_LARGE (over max or over the whole budget),
 * OCA_ERR_MEMORY_LIMIT (budget spent now; while b->counting, more bytes are still welcome) or
 * OCA_ERR_INVALID (corrupt compressed data). */
int oca_otlp_body_feed(struct oca_otlp_body *b, const uint8_t *p, size_t n);
/* All bytes are in: OCA_OK, OCA_ERR_INVALID for a truncated compressed stream, or the error that
 * stopped the body (b->counter.items then counts a body refused for memory). On OCA_OK the
 * decompressor is gone with its charge; data, len and charged remain. */
int oca_otlp_body_finish(struct oca_otlp_body *b);
/* Frees the buffer and gives its charge back; b may be freed or reused (after init) afterwards. */
void oca_otlp_body_free(struct oca_otlp_body *b);

/* What became of one Export request. */
struct oca_otlp_result {
    int err;                    /* OCA_OK or the OCA_ERR_* that decides the wire status */
    int64_t rejected;           /* items refused although err is OCA_OK (partial_success) */
    char message[512];          /* for the client: Status.message, grpc-message, error_message */
};

/* Where a request came from: the peer, and the stream whose headers become the batch's client
 * metadata when include_metadata (the Collector's client.Info). stream may be NULL. */
struct oca_otlp_from {
    const char *peer;
    const struct oca_http_stream *stream;
    bool include_metadata;
};

/* One Export request from its bytes to its outcome (job.c). The loop thread charges the memory
 * budget, prepares the batch (with its client) and later hands the batch on and answers; the
 * decoding in between, a pure function of the bytes, runs on the loop thread or on libuv's thread
 * pool (see oca_otlp_rx.offload_min). Fields are the job's own; callers read res and user in done. */
struct oca_otlp_job;
typedef void (*oca_otlp_job_cb)(struct oca_otlp_job *job);

struct oca_otlp_job {
    struct oca_otlp_job *next;      /* in the receiver's waiting or decoded list */
    struct oca_component *self;
    struct oca_otlp_rx *rx;         /* self->state; NULL (a bare component in tests): always inline */
    enum oca_signal sig;
    enum oca_encoding enc;
    const uint8_t *data;            /* the request bytes until decoded */
    size_t len;
    uint8_t *owned;                 /* the malloc'd block holding data, when the job frees it */
    uint8_t *copy;                  /* data when copied for the pool (oca_arena_block_new) */
    size_t held;                    /* budget bytes held for data (the caller's, or handed over) */
    size_t own;                     /* budget bytes charged for data that is not held (gRPC) */
    size_t estimate;                /* JSON: charged for the decoding until the arena's size is known */
    uint64_t refused;               /* items of a request refused for memory */
    /* Protobuf and every consumer takes raw-only batches: the request is checked and counted
     * (oca_otlp_walk), not decoded, and its bytes become the batch's (set by begin). */
    bool raw;
    struct oca_batch *batch;
    struct oca_otlp_result res;
    oca_otlp_job_cb done;
    void *user;                     /* the caller's (its stream or call); cleared by it when that goes */
    char peer[64];                  /* for the log line of a refusal */
};

/* A new job for self (an otlp receiver, or any component without state: then always inline).
 * done runs once on the loop thread, after the pipeline had the batch, with job->res set; it
 * answers the client when job->user is still set. The job is freed when done returns. */
struct oca_otlp_job *oca_otlp_job_new(struct oca_component *self, enum oca_signal sig, enum oca_encoding enc,
                                      oca_otlp_job_cb done, void *user);
/* Decodes data and hands it on; done may run before this returns (a small request, or an error
 * found before decoding). owned: NULL when data is the caller's, valid during this call only (it
 * is copied when decoding goes to the pool), else a malloc'd block holding data (data itself, or
 * a gRPC message inside the deframer's buffer), which the job frees. held: budget bytes the
 * caller held for data, handed over (the job gives them back). from may be NULL and is used
 * before this returns. */
void oca_otlp_job_submit(struct oca_otlp_job *job, const uint8_t *data, size_t len, uint8_t *owned, size_t held,
                         const struct oca_otlp_from *from);

/* The steps of a job's decoding (export.c). begin, on the loop thread: charges the budget for
 * job->data (unless held), sets up job->batch with the client from from; run, on any thread:
 * decodes into job->batch (NULL after an error); both return OCA_OK or the error also set in
 * job->res. give_back, on the loop thread: counts the items of a request refused for memory, frees owned
 * data and gives its budget bytes back (held too when held_too). */
int oca_otlp_decode_begin(struct oca_otlp_job *job, const struct oca_otlp_from *from);
int oca_otlp_decode_run(struct oca_otlp_job *job);
void oca_otlp_decode_give_back(struct oca_otlp_job *job, bool held_too);
/* The loop thread's end of a job: hands a decoded batch to self's next consumer of sig, with the
 * pipeline's refusals turned into the codes the wire statuses come from (a retryable refusal stays
 * as it is; a permanent one becomes OCA_ERR_INVALID), counts a memory refusal's items as refused,
 * drops the batch and logs a failure at debug level with the peer. */
void oca_otlp_hand_on(struct oca_otlp_job *job);

/* Decodes one request into a new batch (refs = 1) charged to the budget (batch->charged), with its
 * client set from from (may be NULL), on the calling thread (tests, fuzzing). held is how many
 * budget bytes the caller holds for data already (an HTTP body), and keeps; 0 means data is
 * someone else's buffer (a gRPC message), which is then charged for the duration of the decoding.
 * On error *out is NULL and res says why. */
int oca_otlp_decode(enum oca_signal sig, enum oca_encoding enc, const uint8_t *data, size_t len, size_t held,
                    const struct oca_otlp_from *from, struct oca_batch **out, struct oca_otlp_result *res);

/* Sets res to err with a printf-style message. */
void oca_otlp_result_set(struct oca_otlp_result *res, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The wire status of a result: HTTP status, gRPC code, and whether the client is asked to retry
 * (Retry-After / RetryInfo). The only mapping from error codes to statuses in the receiver. */
int oca_otlp_http_status(const struct oca_otlp_result *res);
int oca_otlp_grpc_status(const struct oca_otlp_result *res);
bool oca_otlp_retryable(const struct oca_otlp_result *res);

/* Appends the Export<Signal>ServiceResponse of a success to out, in enc: empty, or with
 * partial_success when res->rejected > 0 or res->message is set. */
void oca_otlp_encode_response(enum oca_signal sig, enum oca_encoding enc, const struct oca_otlp_result *res,
                              struct oca_buf *out);
/* Appends the google.rpc.Status of a failure to out, in enc (protobuf, or its JSON). With
 * retry_info a google.rpc.RetryInfo detail (OCA_OTLP_RETRY_AFTER_S) is added (protobuf only: the
 * HTTP answer carries Retry-After instead). */
void oca_otlp_encode_status(const struct oca_otlp_result *res, enum oca_encoding enc, bool retry_info,
                            struct oca_buf *out);

/* OTLP/HTTP (http.c): the listener's HTTP handler (handler_data is the struct oca_otlp_listener);
 * gRPC requests are passed on to the listener's router. */
extern const struct oca_http_handler oca_otlp_http_handler;

/* gRPC (grpc.c): fills rx->methods and the listener's router. */
void oca_otlp_grpc_setup(struct oca_otlp_rx *rx, struct oca_otlp_listener *l, uint64_t max_recv_msg_size);

/* CORS (http.c): whether origin matches one of the patterns (exact, "*", or one '*' wildcard as in
 * "https://" "*.example.com"; case-insensitive). */
bool oca_otlp_cors_origin_allowed(const struct oca_otlp_cors_config *cors, const char *origin);

#endif
