/* The agent-wide memory budget: one count of the bytes that received data holds (request bodies
 * being decoded, decoded batches still referenced anywhere in the pipelines), against one limit
 * (service.memory_budget). Receivers charge before they allocate and refuse retryably when the
 * budget is spent, so memory stays bounded under any load; a batch gives its charge back when its
 * last reference goes (pipeline/batch.c). Safe to use from any thread (atomic counters). */
#ifndef OCA_BASE_BUDGET_H
#define OCA_BASE_BUDGET_H

#include <stddef.h>
#include <stdint.h>

/* The limit before oca_budget_set_limit is called. */
#define OCA_BUDGET_DEFAULT_LIMIT ((size_t)40 << 20)

/* Sets the limit in bytes (0: no limit). Bytes already charged stay charged, even beyond it. */
void oca_budget_set_limit(size_t bytes);
size_t oca_budget_limit(void);

/* Takes n bytes from the budget. Returns OCA_OK, OCA_ERR_MEMORY_LIMIT (retryable: not now, the
 * bytes in use must go down first) or OCA_ERR_TOO_LARGE (permanent: n alone is more than the whole
 * limit, so waiting cannot help). Nothing is charged on error. */
int oca_budget_charge(size_t n);

/* A request may start (nothing charged): OCA_OK, or OCA_ERR_MEMORY_LIMIT, counted as a refusal,
 * while the bytes in use are at or over the limit. For refusing before a size is known. */
int oca_budget_admit(void);

/* Takes n bytes whatever the limit, for memory that exists already and cannot be refused (a copy
 * the pipeline had to make). */
void oca_budget_force(size_t n);

/* The least memory a request of n body bytes needs at its peak: the body and its decoded form,
 * which takes three times the wire size or more (decoded protobuf is typically 4-9 times its wire
 * size; a JSON arena starts at 3n + 256). Receivers charge it before decoding, and refuse a body
 * for which even this is over the whole budget as too large. */
static inline uint64_t oca_budget_request_need(uint64_t n) { return 4 * n + 256; }

/* Gives back n bytes taken by oca_budget_charge or oca_budget_force. */
void oca_budget_release(size_t n);

/* Bytes charged now, the most ever charged at once, and how many charges and admissions were
 * refused since the start or the last reset. */
size_t oca_budget_used(void);
size_t oca_budget_peak(void);
size_t oca_budget_refusals(void);

/* Tests: back to the default limit with peak and refusals cleared (used is left alone, so a test
 * can still check that everything was given back). */
void oca_budget_reset_stats(void);

#endif
