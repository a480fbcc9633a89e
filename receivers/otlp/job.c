/* One OTLP Export request from its bytes to its answer (see otlp.h), for OTLP/HTTP and gRPC alike.
 * The loop thread owns everything stateful: the budget checks before decoding, the batch's client,
 * the pipeline, the counters and the answer. Only the decoding, a pure function of the bytes, may
 * move to libuv's thread pool, so that a second core decodes while the loop thread serves sockets.
 * Small requests stay on the loop thread, where decoding them costs less than handing them over
 * and back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/errors.h"
#include "base/mem.h"
#include "receivers/otlp/otlp.h"

struct oca_otlp_job *oca_otlp_job_new(struct oca_component *self, enum oca_signal sig, enum oca_encoding enc,
                                      oca_otlp_job_cb done, void *user)
{
    struct oca_otlp_job *j = oca_xcalloc(1, sizeof(*j));
    j->self = self;
    j->rx = self->state;
    j->sig = sig;
    j->enc = enc;
    j->done = done;
    j->user = user;
    return j;
}

/* The loop thread's end: the pipeline, the answer, the job's memory. The request bytes are freed
 * here rather than on the worker: malloc'd by the loop thread, freed by another, they made glibc
 * trim and fault in the loop thread's heap again for every request. */
static void finish(struct oca_otlp_job *j)
{
    oca_otlp_decode_give_back(j, true);
    oca_otlp_hand_on(j);
    j->done(j);
    free(j);
}

/* The pool side. A runner is a uv_work item that decodes waiting jobs one after the other until
 * none is left, so a worker that finishes one job finds the next already there instead of idling
 * until the loop thread, busy decoding a request itself, comes round to hand it one. Decoded jobs
 * go back through decoded_async, one wake-up per job, so answers do not wait for the runner to
 * end. */
struct runner {
    uv_work_t work;
    struct oca_otlp_rx *rx;
};

static void append(struct oca_otlp_job **head, struct oca_otlp_job **tail, struct oca_otlp_job *j)
{
    j->next = NULL;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

static void run_cb(uv_work_t *w)
{
    struct oca_otlp_rx *rx = ((struct runner *)w->data)->rx;
    for (;;) {
        uv_mutex_lock(&rx->lock);
        struct oca_otlp_job *j = rx->waiting;
        if (!j) {
            /* Under the lock: the loop thread appends and counts runners under it too, so a job
             * is never left waiting without a runner. */
            rx->runners--;
            uv_mutex_unlock(&rx->lock);
            return;
        }
        rx->waiting = j->next;
        if (!rx->waiting)
            rx->waiting_tail = NULL;
        rx->n_waiting--;
        uv_mutex_unlock(&rx->lock);
        oca_otlp_decode_run(j);
        uv_mutex_lock(&rx->lock);
        append(&rx->decoded, &rx->decoded_tail, j);
        uv_mutex_unlock(&rx->lock);
        uv_async_send(&rx->decoded_async);
    }
}

static void run_done_cb(uv_work_t *w, int status)
{
    struct runner *r = w->data;
    struct oca_otlp_rx *rx = r->rx;
    /* Nothing cancels runners (shutdown waits for them), so status is always 0. */
    (void)status;
    free(r);
    rx->runs--;
    oca_otlp_maybe_done(rx);
}

static void decoded_cb(uv_async_t *a)
{
    struct oca_otlp_rx *rx = a->data;
    uv_mutex_lock(&rx->lock);
    struct oca_otlp_job *list = rx->decoded;
    rx->decoded = rx->decoded_tail = NULL;
    uv_mutex_unlock(&rx->lock);
    while (list) {
        struct oca_otlp_job *j = list;
        list = j->next;
        finish(j);
        rx->jobs--;
    }
    oca_otlp_maybe_done(rx);
}

void oca_otlp_pool_start(struct oca_otlp_rx *rx, uv_loop_t *loop)
{
    if (uv_mutex_init(&rx->lock) != 0 || uv_async_init(loop, &rx->decoded_async, decoded_cb) != 0) {
        /* Without them everything decodes on the loop thread. */
        rx->offload_min = SIZE_MAX;
        return;
    }
    rx->decoded_async.data = rx;
    rx->pool_live = true;
}

static void pool_closed_cb(uv_handle_t *h)
{
    struct oca_otlp_rx *rx = h->data;
    uv_mutex_destroy(&rx->lock);
    rx->pool_closing = false;
    oca_otlp_maybe_done(rx);
}

bool oca_otlp_pool_close(struct oca_otlp_rx *rx)
{
    if (rx->pool_closing)
        return true;
    if (!rx->pool_live)
        return false;
    rx->pool_live = false;
    rx->pool_closing = true;
    rx->offload_min = SIZE_MAX;
    uv_close((uv_handle_t *)&rx->decoded_async, pool_closed_cb);
    return true;
}

/* Hands j to a runner; false when enough jobs wait already (then the caller decodes it). */
static bool hand_over(struct oca_otlp_rx *rx, struct oca_otlp_job *j, const uint8_t *data, size_t len)
{
    uv_mutex_lock(&rx->lock);
    bool room = rx->n_waiting < rx->max_jobs;
    uv_mutex_unlock(&rx->lock);
    if (!room)
        return false;
    /* The caller's bytes are gone when submit returns; the copy is what begin charged as own. */
    if (!j->owned) {
        j->copy = oca_arena_block_new(len);
        memcpy(j->copy, data, len);
        j->data = j->copy;
    }
    uv_mutex_lock(&rx->lock);
    append(&rx->waiting, &rx->waiting_tail, j);
    rx->n_waiting++;
    bool start = rx->runners < rx->max_jobs;
    if (start)
        rx->runners++;
    uv_mutex_unlock(&rx->lock);
    rx->jobs++;
    rx->offloaded++;
    if (start) {
        struct runner *r = oca_xcalloc(1, sizeof(*r));
        r->rx = rx;
        r->work.data = r;
        rx->runs++;
        uv_queue_work(rx->loop, &r->work, run_cb, run_done_cb);
    }
    return true;
}

void oca_otlp_job_submit(struct oca_otlp_job *j, const uint8_t *data, size_t len, uint8_t *owned, size_t held,
                         const struct oca_otlp_from *from)
{
    j->data = data;
    j->len = len;
    j->owned = owned;
    j->held = held;
    if (from && from->peer)
        snprintf(j->peer, sizeof(j->peer), "%s", from->peer);
    if (oca_otlp_decode_begin(j, from) != OCA_OK) {
        finish(j);
        return;
    }
    struct oca_otlp_rx *rx = j->rx;
    if (rx && len >= rx->offload_min && hand_over(rx, j, data, len))
        return;
    oca_otlp_decode_run(j);
    finish(j);
}
