/* The agent-wide memory budget behind budget.h. The counters are C11 atomics because decoding
 * may run on libuv's thread pool; a charge is a compare-and-swap loop so two threads can never
 * both take the last bytes. */
#include "base/budget.h"

#include <assert.h>
#include <stdatomic.h>

#include "base/errors.h"

static atomic_size_t limit_bytes = OCA_BUDGET_DEFAULT_LIMIT;
static atomic_size_t used_bytes;
static atomic_size_t peak_bytes;
static atomic_size_t refusals;

void oca_budget_set_limit(size_t bytes) { atomic_store(&limit_bytes, bytes); }
size_t oca_budget_limit(void) { return atomic_load(&limit_bytes); }
size_t oca_budget_used(void) { return atomic_load(&used_bytes); }
size_t oca_budget_peak(void) { return atomic_load(&peak_bytes); }
size_t oca_budget_refusals(void) { return atomic_load(&refusals); }

static void note_peak(size_t now)
{
    size_t peak = atomic_load(&peak_bytes);
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now))
        ;
}

int oca_budget_charge(size_t n)
{
    size_t limit = atomic_load(&limit_bytes);
    if (limit && n > limit) {
        atomic_fetch_add(&refusals, 1);
        return OCA_ERR_TOO_LARGE;
    }
    size_t used = atomic_load(&used_bytes);
    do {
        if (limit && (used > limit || n > limit - used)) {
            atomic_fetch_add(&refusals, 1);
            return OCA_ERR_MEMORY_LIMIT;
        }
    } while (!atomic_compare_exchange_weak(&used_bytes, &used, used + n));
    note_peak(used + n);
    return OCA_OK;
}

int oca_budget_admit(void)
{
    size_t limit = atomic_load(&limit_bytes);
    if (limit && atomic_load(&used_bytes) >= limit) {
        atomic_fetch_add(&refusals, 1);
        return OCA_ERR_MEMORY_LIMIT;
    }
    return OCA_OK;
}

void oca_budget_force(size_t n)
{
    note_peak(atomic_fetch_add(&used_bytes, n) + n);
}

void oca_budget_release(size_t n)
{
    size_t before = atomic_fetch_sub(&used_bytes, n);
    /* Giving back more than was taken is a bug in the caller; keep the count sane in release
     * builds and loud in debug ones. */
    assert(before >= n);
    if (before < n)
        atomic_store(&used_bytes, 0);
}

void oca_budget_reset_stats(void)
{
    atomic_store(&limit_bytes, OCA_BUDGET_DEFAULT_LIMIT);
    atomic_store(&peak_bytes, atomic_load(&used_bytes));
    atomic_store(&refusals, 0);
}
