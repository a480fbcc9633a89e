/* The push exporter (see push.h): start creates the HTTP client and starts the exporter helper;
 * shutdown lets the helper drain its queue (sending and retrying what is left) and only then closes
 * the client, so no attempt is cut off by the client going away. */
#include "exporters/exporterhelper/push.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/budget.h"
#include "base/errors.h"
#include "base/mem.h"
#include "codec/gzip.h"
#include "codec/zstd.h"
#include "config/diag.h"
#include "version.h"

static bool is_token_char(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

bool oca_push_headers_ok(const struct oca_strmap *headers, char *why, size_t why_size)
{
    for (size_t i = 0; i < headers->n; i++) {
        const char *k = headers->keys[i], *v = headers->values[i];
        bool ok = *k != '\0';
        for (const char *p = k; ok && *p; p++)
            ok = is_token_char((unsigned char)*p);
        if (!ok) {
            snprintf(why, why_size, "\"%s\" is not a valid header name", k);
            return false;
        }
        for (const char *p = v; *p; p++)
            if (((unsigned char)*p < ' ' && *p != '\t') || *p == 0x7f) {
                snprintf(why, why_size, "the value of %s may not contain control characters", k);
                return false;
            }
    }
    return true;
}

const struct oca_enum_name oca_push_compression_names[] = {
    { "gzip", OCA_PUSH_GZIP },
    { "zstd", OCA_PUSH_ZSTD },
    { "none", OCA_PUSH_NONE },
    { NULL, 0 },
};

const char *oca_push_compression_token(enum oca_push_compression c)
{
    return c == OCA_PUSH_GZIP ? "gzip" : c == OCA_PUSH_ZSTD ? "zstd" : NULL;
}

static struct oca_http_header header(const char *name, const char *value)
{
    return (struct oca_http_header){ name, strlen(name), value, strlen(value) };
}

size_t oca_push_http_headers(struct oca_http_header *out, const char *content_type, enum oca_push_compression c)
{
    size_t n = 0;
    out[n++] = header("Content-Type", content_type);
    out[n++] = header("User-Agent", "ocagent/" OCA_VERSION);
    if (oca_push_compression_token(c))
        out[n++] = header("Content-Encoding", oca_push_compression_token(c));
    return n;
}

const struct oca_field oca_push_compression_params_fields[] = {
    OCA_FIELD_INT(struct oca_push_compression_params, level, "0", 0, 22,
                  "Compression level; 0 is the coding's default (gzip 6, zstd 1). gzip takes 1-9 (1 is "
                  "about twice as fast as 6 for a few percent more bytes), zstd 1-22."),
    OCA_FIELD_END,
};

/* The level's range for the coding, reported on compression_params.level. */
static int level_ok(int compression, int64_t level, struct oca_diag *diag)
{
    if (level == 0)
        return OCA_OK;
    if (compression == OCA_PUSH_NONE) {
        oca_diag_field_error(diag, "compression_params.level", "a level is not supported for compression none");
        return OCA_ERR_CONFIG;
    }
    if (compression == OCA_PUSH_GZIP && level > 9) {
        oca_diag_field_error(diag, "compression_params.level", "gzip levels are 1 to 9, not %lld", (long long)level);
        return OCA_ERR_CONFIG;
    }
    return OCA_OK;
}

int oca_push_exporter_validate(const struct oca_strmap *headers, const struct oca_tls_client_config *tls,
                               int compression, const struct oca_push_compression_params *params,
                               const struct oca_exporter_helper_config *helper, struct oca_diag *diag)
{
    int err = level_ok(compression, params->level, diag);
    char why[256];
    if (!oca_push_headers_ok(headers, why, sizeof(why))) {
        oca_diag_field_error(diag, "headers", "%s", why);
        err = OCA_ERR_CONFIG;
    }
    if (oca_tls_client_config_validate(tls, "tls", diag) != OCA_OK)
        err = OCA_ERR_CONFIG;
    if (oca_exporter_helper_validate(helper, diag) != OCA_OK)
        err = OCA_ERR_CONFIG;
    return err;
}

void oca_push_exporter_init(struct oca_push_exporter *p, struct oca_component *self,
                            const struct oca_exporter_helper_config *helper_cfg,
                            const struct oca_tls_client_config *tls, const struct oca_strmap *headers,
                            const struct oca_http_header *fixed, size_t n_fixed,
                            const struct oca_exporter_ops *ops, void *exporter)
{
    memset(p, 0, sizeof(*p));
    p->self = self;
    p->tls = tls;
    p->n_headers = n_fixed + headers->n;
    p->headers = oca_xcalloc(p->n_headers ? p->n_headers : 1, sizeof(*p->headers));
    if (n_fixed)
        memcpy(p->headers, fixed, n_fixed * sizeof(*fixed));
    for (size_t i = 0; i < headers->n; i++) {
        struct oca_http_header *h = &p->headers[n_fixed + i];
        h->name = headers->keys[i];
        h->name_len = strlen(headers->keys[i]);
        h->value = headers->values[i];
        h->value_len = strlen(headers->values[i]);
    }
    p->helper = oca_exporter_helper_new(self, helper_cfg, ops, exporter);
}

int oca_push_exporter_start(struct oca_component *self, uv_loop_t *loop)
{
    struct oca_push_exporter *p = self->state;
    p->client = oca_http_client_new(loop, p->tls, p->self->id);
    if (!p->client)
        return OCA_ERR_CONFIG;
    int err = oca_exporter_helper_start(p->helper, loop);
    p->started = true;
    return err;
}

int oca_push_exporter_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch)
{
    struct oca_push_exporter *p = self->state;
    return oca_exporter_helper_consume(p->helper, sig, batch);
}

static void on_client_closed(void *arg)
{
    struct oca_push_exporter *p = arg;
    p->client = NULL;
    p->started = false;
    oca_waiters_notify(&p->waiters, p->self);
}

static void on_drained(void *arg)
{
    struct oca_push_exporter *p = arg;
    oca_http_client_close(p->client, on_client_closed, p);
}

void oca_push_exporter_shutdown(struct oca_component *self, oca_done_cb done)
{
    struct oca_push_exporter *p = self->state;
    oca_waiters_add(&p->waiters, done);
    if (p->stopping && p->started)
        return;     /* the first call's drain answers this one too */
    if (!p->started) {
        oca_waiters_notify(&p->waiters, p->self);
        return;
    }
    p->stopping = true;
    oca_exporter_helper_shutdown(p->helper, on_drained, p);
}

void oca_push_exporter_free(struct oca_push_exporter *p)
{
    oca_exporter_helper_free(p->helper);
    free(p->headers);
    free(p->waiters.cbs);
    memset(p, 0, sizeof(*p));
}

/* Thread pool: the exporter's encode, and nothing else of the exporter's is touched. */
static void job_work(uv_work_t *w)
{
    struct oca_push_job *job = w->data;
    job->err = job->ops->encode(job->exporter, job, job->why, sizeof(job->why));
    /* Compression reserves its bound (about the input's size) and growth doubles: give back what
     * the encoding did not use, so the attempt holds its bytes and little more. */
    if (job->body.cap > job->body.len + job->body.len / 8 + 4096) {
        job->body.data = oca_xrealloc(job->body.data, job->body.len + 1);
        job->body.cap = job->body.len + 1;
    }
    /* What start reserved becomes what the body holds. */
    if (job->body.cap > job->charged)
        oca_budget_force(job->body.cap - job->charged);
    else
        oca_budget_release(job->charged - job->body.cap);
    job->charged = job->body.cap;
    /* The body moves no more: the pieces become slices the clients can borrow. */
    job->slices = oca_xmalloc((job->n_pieces ? job->n_pieces : 1) * sizeof(*job->slices));
    for (size_t i = 0; i < job->n_pieces; i++) {
        const struct oca_push_piece *p = &job->pieces[i];
        job->slices[i] = (struct oca_slice){ p->data ? p->data : (const uint8_t *)job->body.data + p->off, p->len };
    }
}

static void job_encoded(uv_work_t *w, int status)
{
    struct oca_push_job *job = w->data;
    struct oca_send_result r = { .err = OCA_ERR_SHUTTING_DOWN };
    if (status != 0) {
        r.message = "cancelled";
    } else if (job->err != OCA_OK) {
        r.err = job->err;
        r.message = job->why;
    } else if (!job->px->client) {
        r.message = "the HTTP client is closed";
    } else {
        job->ops->send(job->exporter, job);
        return;
    }
    oca_push_job_finish(job, &r);
}

/* The bytes an attempt's encoding is expected to take: none for a raw batch sent as it is (a
 * raw-only batch reaches only exporters that send it so), else its protobuf size (compressed
 * output is smaller; decoded structs take 4-9 times their wire size, so a quarter of their
 * charge). */
static size_t encoding_estimate(const struct oca_batch *b, enum oca_push_compression compression)
{
    if (b->n_raw > 0)
        return compression != OCA_PUSH_NONE ? b->raw_len : 0;
    return b->charged / 4 + 1;
}

static void queue_job(struct oca_push_job *job)
{
    if (uv_queue_work(job->px->self->loop, &job->work, job_work, job_encoded) != 0) {
        struct oca_send_result r = { .err = OCA_ERR_SHUTTING_DOWN, .message = "the thread pool refused the work" };
        oca_push_job_finish(job, &r);
    }
}

/* Whether job may make its encoding now, its estimate reserved if so. */
static bool reserve(struct oca_push_job *job)
{
    struct oca_push_exporter *px = job->px;
    /* Not oca_budget_charge: waiting here is not a refusal of data (the budget counts those). */
    size_t limit = oca_budget_limit();
    if (px->encoding > 0 && limit && oca_budget_used() + job->estimate > limit)
        return false;
    oca_budget_force(job->estimate);
    job->charged = job->estimate;
    px->encoding++;
    return true;
}

void oca_push_job_start(struct oca_push_exporter *px, const struct oca_push_job_ops *ops, void *exporter,
                        enum oca_signal sig, struct oca_batch *batch, int64_t timeout_ns,
                        enum oca_push_compression compression, int level, struct oca_send_attempt *attempt)
{
    struct oca_push_job *job = oca_xcalloc(1, sizeof(*job));
    job->px = px;
    job->ops = ops;
    job->exporter = exporter;
    job->sig = sig;
    job->batch = batch;
    job->timeout_ns = timeout_ns;
    job->compression = compression;
    job->level = level;
    job->attempt = attempt;
    job->work.data = job;
    job->estimate = encoding_estimate(batch, compression);
    if (job->estimate > 0 && (px->waiting || !reserve(job))) {
        if (px->waiting_tail)
            px->waiting_tail->next = job;
        else
            px->waiting = job;
        px->waiting_tail = job;
        return;
    }
    queue_job(job);
}

/* An encoding ended: start the waiting attempts the budget now has room for (the first always,
 * when no other encoding is left). */
static void start_waiting(struct oca_push_exporter *px)
{
    while (px->waiting && reserve(px->waiting)) {
        struct oca_push_job *job = px->waiting;
        px->waiting = job->next;
        if (!px->waiting)
            px->waiting_tail = NULL;
        job->next = NULL;
        queue_job(job);
    }
}

/* Room for extra more bytes in the body: exact for the first message (whose size is known: a
 * batch's is its whole encoding), doubling after. */
static void body_reserve(struct oca_buf *b, size_t extra)
{
    if (b->len == 0 && b->cap < extra + 1) {
        b->data = oca_xrealloc(b->data, extra + 1);
        b->cap = extra + 1;
    }
    oca_buf_reserve(b, extra);
}

static void add_piece(struct oca_push_job *job, const uint8_t *data, size_t off, size_t len)
{
    if (len == 0)
        return;
    if (job->n_pieces == job->cap_pieces) {
        job->cap_pieces = job->cap_pieces ? 2 * job->cap_pieces : 4;
        job->pieces = oca_xrealloc(job->pieces, job->cap_pieces * sizeof(*job->pieces));
    }
    job->pieces[job->n_pieces++] = (struct oca_push_piece){ data, off, len };
}

/* Adds the body's bytes from off to its end as a piece of the current message. */
static void add_body_piece(struct oca_push_job *job, size_t off)
{
    add_piece(job, NULL, off, job->body.len - off);
}

static void end_msg(struct oca_push_job *job)
{
    if (job->n_msgs == job->cap_msgs) {
        job->cap_msgs = job->cap_msgs ? 2 * job->cap_msgs : 4;
        job->ends = oca_xrealloc(job->ends, job->cap_msgs * sizeof(*job->ends));
    }
    job->ends[job->n_msgs++] = job->n_pieces;
}

static void compress_parts(struct oca_push_job *job, const struct oca_slice *parts, size_t n)
{
    size_t off = job->body.len;
    bool ok = job->compression == OCA_PUSH_ZSTD
                  ? oca_zstdv(parts, n, job->level ? job->level : OCA_ZSTD_LEVEL, &job->body)
                  : oca_gzipv(parts, n, job->level ? job->level : OCA_GZIP_LEVEL, &job->body);
    if (!ok)
        abort();    /* the library could not allocate its state */
    add_body_piece(job, off);
}

void oca_push_job_add(struct oca_push_job *job, const uint8_t *msg, size_t len)
{
    if (job->compression != OCA_PUSH_NONE) {
        struct oca_slice part = { msg, len };
        compress_parts(job, &part, 1);
    } else {
        size_t off = job->body.len;
        body_reserve(&job->body, len);
        if (len)
            memcpy(job->body.data + off, msg, len);
        job->body.len += len;
        job->body.data[job->body.len] = '\0';
        add_body_piece(job, off);
    }
    end_msg(job);
}

void oca_push_job_add_buf(struct oca_push_job *job, struct oca_buf *msg)
{
    if (job->body.len == 0 && job->compression == OCA_PUSH_NONE && msg->data) {
        oca_buf_free(&job->body);
        job->body = *msg;
        *msg = (struct oca_buf){ 0 };
        add_body_piece(job, 0);
        end_msg(job);
        return;
    }
    oca_push_job_add(job, (const uint8_t *)msg->data, msg->len);
    oca_buf_free(msg);
}

void oca_push_job_add_message(struct oca_push_job *job, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (job->compression != OCA_PUSH_NONE) {
        uint8_t *packed = oca_xmalloc(n ? n : 1);
        protobuf_c_message_pack(msg, packed);
        oca_push_job_add(job, packed, n);
        free(packed);
        return;
    }
    size_t off = job->body.len;
    body_reserve(&job->body, n);
    job->body.len += protobuf_c_message_pack(msg, (uint8_t *)job->body.data + off);
    job->body.data[job->body.len] = '\0';
    add_body_piece(job, off);
    end_msg(job);
}

void oca_push_job_add_batch(struct oca_push_job *job)
{
    const struct oca_batch *b = job->batch;
    if (b->msg && b->n_raw == 0) {
        oca_push_job_add_message(job, b->msg);
        return;
    }
    if (job->compression != OCA_PUSH_NONE) {
        compress_parts(job, b->raw, b->n_raw);
    } else {
        /* The segments are sent where they lie: the helper holds the batch until the attempt
         * ends, and it is read-only meanwhile. */
        for (size_t i = 0; i < b->n_raw; i++)
            add_piece(job, b->raw[i].data, 0, b->raw[i].len);
    }
    end_msg(job);
}

const struct oca_slice *oca_push_job_pieces(const struct oca_push_job *job, size_t i, size_t *n)
{
    size_t start = i ? job->ends[i - 1] : 0;
    *n = job->ends[i] - start;
    return job->slices + start;
}

void oca_push_job_finish(struct oca_push_job *job, const struct oca_send_result *res)
{
    /* The encoding's memory goes back and waiting attempts may start before the attempt ends:
     * ending it may end the exporter's drain, after which nothing of the exporter's is touched.
     * res may point into the job (its why), so the job itself goes last. */
    struct oca_push_exporter *px = job->px;
    oca_buf_free(&job->body);
    oca_budget_release(job->charged);
    job->charged = 0;
    if (job->estimate > 0) {
        px->encoding--;
        start_waiting(px);
    }
    oca_send_attempt_done(job->attempt, res);
    free(job->pieces);
    free(job->slices);
    free(job->ends);
    free(job);
}

int64_t oca_push_retry_after(const struct oca_http_response *resp)
{
    const struct oca_http_header *h = oca_http_response_header(resp, "retry-after");
    if (!h)
        return 0;
    char v[64];
    snprintf(v, sizeof(v), "%.*s", (int)h->value_len, h->value);
    int64_t ns = oca_retry_after_parse(v, (int64_t)time(NULL));
    return ns > 0 ? ns : 0;
}
