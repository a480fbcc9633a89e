/* One OTLP Export request from its bytes to its answer (see otlp.h), for OTLP/HTTP and gRPC alike.
 * The loop thread owns everything stateful: the budget checks before decoding, the batch's client,
 * the pipeline, the counters and the answer. Only the decoding, a pure function of the bytes, may
 * move to libuv's thread pool, so that a second core decodes while the loop thread serves sockets
 * (ARCHITECTURE.md principle 4). Small requests stay on the loop thread, where decoding them costs
 * less than handing them over and back. */
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

static void work_cb(uv_work_t *w)
{
    struct oca_otlp_job *j = w->data;
    oca_otlp_decode_run(j);
    atomic_fetch_sub(&j->rx->decoding, 1);
}

static void after_work_cb(uv_work_t *w, int status)
{
    struct oca_otlp_job *j = w->data;
    struct oca_otlp_rx *rx = j->rx;
    /* Nothing cancels jobs (shutdown waits for them), so status is always 0. */
    (void)status;
    finish(j);
    rx->jobs--;
    oca_otlp_maybe_done(rx);
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
    if (!rx || len < rx->offload_min || atomic_load(&rx->decoding) >= rx->max_jobs) {
        oca_otlp_decode_run(j);
        finish(j);
        return;
    }
    /* The caller's bytes are gone when this returns; the copy is what begin charged as own. */
    if (!j->owned) {
        j->copy = oca_arena_block_new(len);
        memcpy(j->copy, data, len);
        j->data = j->copy;
    }
    j->work.data = j;
    rx->jobs++;
    rx->offloaded++;
    atomic_fetch_add(&rx->decoding, 1);
    uv_queue_work(rx->loop, &j->work, work_cb, after_work_cb);
}
