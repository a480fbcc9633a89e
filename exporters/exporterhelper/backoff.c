/* Exponential backoff for the exporter helper's retries; see backoff.h. The order of the steps
 * (randomise, grow, check the elapsed time, then apply the backend's delay and check again)
 * follows the Collector's retry sender, so a config means the same wait here as there. */
#include "exporters/exporterhelper/backoff.h"

void oca_backoff_start(struct oca_backoff *b, const struct oca_retry_config *cfg, int64_t now_ns)
{
    b->cfg = cfg;
    b->start_ns = now_ns;
    b->current_ns = cfg->initial_interval_ns;
}

static int64_t randomize(double factor, double random, int64_t current)
{
    if (factor == 0)
        return current;
    double delta = factor * (double)current;
    double lo = (double)current - delta, hi = (double)current + delta;
    /* The +1 gives both ends of the range a chance, as cenkalti/backoff does. */
    return (int64_t)(lo + random * (hi - lo + 1));
}

static void grow(struct oca_backoff *b)
{
    const struct oca_retry_config *c = b->cfg;
    /* Compared in floating point so that a large multiplier cannot overflow the product. */
    if ((double)b->current_ns >= (double)c->max_interval_ns / c->multiplier)
        b->current_ns = c->max_interval_ns;
    else
        b->current_ns = (int64_t)((double)b->current_ns * c->multiplier);
}

int64_t oca_backoff_next(struct oca_backoff *b, int64_t now_ns, double random, int64_t asked_ns)
{
    const struct oca_retry_config *c = b->cfg;
    int64_t elapsed = now_ns - b->start_ns;
    int64_t wait = randomize(c->randomization_factor, random, b->current_ns);
    grow(b);
    if (c->max_elapsed_time_ns > 0 && elapsed + wait > c->max_elapsed_time_ns)
        return OCA_BACKOFF_STOP;
    if (asked_ns > wait)
        wait = asked_ns;
    if (c->max_elapsed_time_ns > 0 && elapsed + wait > c->max_elapsed_time_ns)
        return OCA_BACKOFF_STOP;
    return wait;
}
