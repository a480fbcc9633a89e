/* The agent's run state as the outside world should see it: starting, ready (every pipeline runs)
 * or stopping. agent.c sets it (ready once oca_graph_start succeeded, stopping at the first
 * signal); the health_check extension reads it. Loop thread only. */
#ifndef OCA_AGENT_STATUS_H
#define OCA_AGENT_STATUS_H

#include <stdint.h>

enum oca_status_state { OCA_STATUS_STARTING, OCA_STATUS_READY, OCA_STATUS_STOPPING };

/* STARTING until the first oca_status_set. */
enum oca_status_state oca_status_get(void);
/* Records the new state and, when it becomes READY, the moment it did. */
void oca_status_set(enum oca_status_state state);
/* When the state last became READY: wall-clock nanoseconds since the epoch (for upSince) and
 * uv_hrtime() nanoseconds (for the uptime); 0 when it never was. */
uint64_t oca_status_ready_since_unix_ns(void);
uint64_t oca_status_ready_since_hrtime(void);
const char *oca_status_name(enum oca_status_state state);

#endif
