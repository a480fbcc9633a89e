/* The memory_limiter processor (see memory_limiter.c). Its readings, replaceable by tests: the
 * agent's resident memory in bytes, and the memory available to it (a cgroup's limit, else the
 * machine's), 0 when unknown. */
#ifndef OCA_PROCESSORS_MEMORY_LIMITER_H
#define OCA_PROCESSORS_MEMORY_LIMITER_H

#include <stdint.h>

extern uint64_t (*oca_memory_limiter_rss)(void);
extern uint64_t (*oca_memory_limiter_total)(void);

#endif
