/* The exponential backoff of one batch's retries, with the arithmetic of the Collector's retry
 * sender (cenkalti/backoff's ExponentialBackOff plus the server's asked delay). Pure functions of
 * the config, the clock and a random number, so tests can check every step; the exporter helper
 * (exporterhelper.c) supplies uv_now and its random source. */
#ifndef OCA_EXPORTERS_EXPORTERHELPER_BACKOFF_H
#define OCA_EXPORTERS_EXPORTERHELPER_BACKOFF_H

#include <stdint.h>

#include "exporters/exporterhelper/exporterhelper.h"

#define OCA_BACKOFF_STOP INT64_C(-1)

struct oca_backoff {
    const struct oca_retry_config *cfg;
    int64_t start_ns;       /* when the first attempt began: max_elapsed_time counts from here */
    int64_t current_ns;     /* the interval before randomisation */
};

/* Begins the retries of one batch whose first attempt starts at now_ns; cfg must outlive b. */
void oca_backoff_start(struct oca_backoff *b, const struct oca_retry_config *cfg, int64_t now_ns);

/* The wait before the next attempt after one failed at now_ns, or OCA_BACKOFF_STOP to give up.
 * random is uniform in [0, 1). As the Collector: the wait is current * (1 - f) + random *
 * (2 * f * current + 1) for f = randomization_factor (current exactly when f is 0); current then
 * grows by the multiplier, capped at max_interval; it stops when elapsed + wait would pass
 * max_elapsed_time (0: never). Then a delay the backend asked for (asked_ns > 0) replaces a
 * shorter wait, and it stops if that wait would pass max_elapsed_time. */
int64_t oca_backoff_next(struct oca_backoff *b, int64_t now_ns, double random, int64_t asked_ns);

#endif
