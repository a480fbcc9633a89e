/* The memory_limiter processor, as the Collector's: every check_interval it reads the agent's
 * memory, and while that is above the soft limit (the limit less the spike allowance) it refuses
 * data retryably, so receivers answer 503 / UNAVAILABLE and senders retry; while it is above the
 * soft limit it also hands freed heap memory back to the system (malloc_trim), the counterpart of
 * the Go Collector's forced garbage collection. The Collector measures Go's heap; here it is the
 * process's resident memory (/proc/self/statm), what a container's limit counts, so code and
 * libraries count too. service.memory_budget bounds the data the agent holds; this bounds the
 * process, decoded batches' allocator slack and exporters' state included. */
#include "processors/memory_limiter.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/diag.h"
#include "config/fields.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/counters.h"

#define MIB ((uint64_t)1 << 20)

struct limiter_config {
    int64_t check_interval;
    uint32_t limit_mib, spike_limit_mib;
    uint32_t limit_percentage, spike_limit_percentage;
};

static const struct oca_field limiter_fields[] = {
    OCA_FIELD_DURATION(struct limiter_config, check_interval, "0s", 0, 3600 * OCA_NS_PER_S,
                       "How often memory is read (required, more than 0; 1s is the Collector's advice)."),
    OCA_FIELD_U32(struct limiter_config, limit_mib, "0", 0, UINT32_MAX,
                  "Hard limit of the agent's resident memory, in MiB (this or limit_percentage is required)."),
    OCA_FIELD_U32(struct limiter_config, spike_limit_mib, "0", 0, UINT32_MAX,
                  "Allowance for growth between two reads; data is refused above limit - spike. "
                  "0: 20% of the limit."),
    OCA_FIELD_U32(struct limiter_config, limit_percentage, "0", 0, 100,
                  "Hard limit as a percentage of the memory available: the cgroup's memory.max, "
                  "else the machine's. Used when limit_mib is 0."),
    OCA_FIELD_U32(struct limiter_config, spike_limit_percentage, "0", 0, 100,
                  "Spike allowance as a percentage of the memory available, with limit_percentage."),
    OCA_FIELD_END,
};

static int limiter_validate(const void *cfgp, struct oca_diag *diag)
{
    const struct limiter_config *cfg = cfgp;
    int err = OCA_OK;
    if (cfg->check_interval <= 0) {
        oca_diag_field_error(diag, "check_interval", "must be more than 0");
        err = OCA_ERR_CONFIG;
    }
    if (cfg->limit_mib == 0 && cfg->limit_percentage == 0) {
        oca_diag_field_error(diag, "limit_mib", "limit_mib or limit_percentage must be set");
        err = OCA_ERR_CONFIG;
    }
    if (cfg->limit_mib > 0 && cfg->spike_limit_mib >= cfg->limit_mib) {
        oca_diag_field_error(diag, "spike_limit_mib", "must be less than limit_mib");
        err = OCA_ERR_CONFIG;
    }
    if (cfg->limit_mib == 0 && cfg->limit_percentage > 0 && cfg->spike_limit_percentage >= cfg->limit_percentage) {
        oca_diag_field_error(diag, "spike_limit_percentage", "must be less than limit_percentage");
        err = OCA_ERR_CONFIG;
    }
    return err;
}

static uint64_t read_statm_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The memory there is: a cgroup v2 limit when one is set, else the machine's. */
static uint64_t read_total(void)
{
    unsigned long long v = 0;
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (f) {
        if (fscanf(f, "%llu", &v) != 1)
            v = 0;          /* "max": no limit */
        fclose(f);
        if (v)
            return v;
    }
    f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[128];
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %llu kB", &v) == 1)
            break;
    fclose(f);
    return (uint64_t)v * 1024;
}

uint64_t (*oca_memory_limiter_rss)(void) = read_statm_rss;
uint64_t (*oca_memory_limiter_total)(void) = read_total;

struct limiter {
    struct oca_component *self;
    uint64_t hard, soft;
    uint64_t last;              /* the last reading */
    bool refusing;
    uv_timer_t timer;
    bool started, closing;
    struct oca_waiters waiters;
};

/* Reads memory and decides; above the soft limit also trims the heap and reads again. */
static void check(struct limiter *l)
{
    uint64_t used = oca_memory_limiter_rss();
    if (used >= l->soft) {
        malloc_trim(0);
        used = oca_memory_limiter_rss();
    }
    l->last = used;
    bool over = used >= l->soft;
    if (over && !l->refusing)
        oca_log_warn(l->self->id, "memory usage %.1f MiB is above the soft limit %.1f MiB (hard %.1f MiB): "
                     "refusing data until it is below",
                     (double)used / MIB, (double)l->soft / MIB, (double)l->hard / MIB);
    else if (!over && l->refusing)
        oca_log_info(l->self->id, "memory usage %.1f MiB is below the soft limit %.1f MiB again: accepting data",
                     (double)used / MIB, (double)l->soft / MIB);
    l->refusing = over;
}

static void on_tick(uv_timer_t *t)
{
    check(t->data);
}

static int limiter_create(struct oca_component *self, struct oca_diag *diag)
{
    const struct limiter_config *cfg = self->config;
    struct limiter *l = oca_xcalloc(1, sizeof(*l));
    l->self = self;
    uint64_t spike;
    if (cfg->limit_mib > 0) {
        l->hard = (uint64_t)cfg->limit_mib * MIB;
        spike = cfg->spike_limit_mib ? (uint64_t)cfg->spike_limit_mib * MIB : l->hard / 5;
    } else {
        uint64_t total = oca_memory_limiter_total();
        if (total == 0) {
            oca_diag_field_error(diag, "limit_percentage", "the memory available cannot be read");
            free(l);
            return OCA_ERR_CONFIG;
        }
        l->hard = total / 100 * cfg->limit_percentage;
        spike = cfg->spike_limit_percentage ? total / 100 * cfg->spike_limit_percentage : l->hard / 5;
    }
    l->soft = l->hard - spike;
    self->state = l;
    return OCA_OK;
}

static int limiter_start(struct oca_component *self, uv_loop_t *loop)
{
    struct limiter *l = self->state;
    const struct limiter_config *cfg = self->config;
    uint64_t ms = (uint64_t)((cfg->check_interval + OCA_NS_PER_MS - 1) / OCA_NS_PER_MS);
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    uv_unref((uv_handle_t *)&l->timer);
    uv_timer_start(&l->timer, on_tick, ms, ms);
    l->started = true;
    check(l);
    oca_log_info(self->id, "limits: hard %.1f MiB, soft %.1f MiB, read every %llu ms; now %.1f MiB",
                 (double)l->hard / MIB, (double)l->soft / MIB, (unsigned long long)ms, (double)l->last / MIB);
    return OCA_OK;
}

static int limiter_consume(struct oca_component *self, enum oca_signal sig, struct oca_batch *batch)
{
    struct limiter *l = self->state;
    int err = l->refusing ? OCA_ERR_MEMORY_LIMIT : oca_next_consume(self, sig, batch);
    oca_counters_add(self->counters, err ? OCA_EDGE_REFUSED : OCA_EDGE_ACCEPTED, sig, batch->items);
    return err;
}

static void on_closed(uv_handle_t *h)
{
    struct limiter *l = h->data;
    l->started = false;
    oca_waiters_notify(&l->waiters, l->self);
}

static void limiter_shutdown(struct oca_component *self, oca_done_cb done)
{
    struct limiter *l = self->state;
    oca_waiters_add(&l->waiters, done);
    if (!l->started) {
        oca_waiters_notify(&l->waiters, self);
        return;
    }
    if (!l->closing) {
        l->closing = true;
        uv_close((uv_handle_t *)&l->timer, on_closed);
    }
}

static void limiter_destroy(struct oca_component *self)
{
    struct limiter *l = self->state;
    if (!l)
        return;
    free(l->waiters.cbs);
    free(l);
    self->state = NULL;
}

const struct oca_component_type oca_memory_limiter_processor = {
    .name = "memory_limiter",
    .kind = OCA_PROCESSOR,
    .signals = OCA_TRACES | OCA_METRICS | OCA_LOGS,
    .takes_raw = oca_takes_raw_always,      /* passes batches on as they are */
    .config_size = sizeof(struct limiter_config),
    .fields = limiter_fields,
    .doc = "Refuses data (retryably) while the agent's resident memory is above a soft limit.",
    .validate = limiter_validate,
    .create = limiter_create,
    .start = limiter_start,
    .consume = limiter_consume,
    .shutdown = limiter_shutdown,
    .destroy = limiter_destroy,
};
