/* The agent's run state; see status.h. Two timestamps are kept for READY: the wall clock for
 * reporting when, the monotonic clock for how long (immune to clock steps). */
#include "agent/status.h"

#include <time.h>
#include <uv.h>

static enum oca_status_state current = OCA_STATUS_STARTING;
static uint64_t ready_unix_ns, ready_hrtime;

enum oca_status_state oca_status_get(void) { return current; }

void oca_status_set(enum oca_status_state state)
{
    if (state == OCA_STATUS_READY && current != OCA_STATUS_READY) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ready_unix_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        ready_hrtime = uv_hrtime();
    }
    current = state;
}

uint64_t oca_status_ready_since_unix_ns(void) { return ready_unix_ns; }
uint64_t oca_status_ready_since_hrtime(void) { return ready_hrtime; }

const char *oca_status_name(enum oca_status_state state)
{
    switch (state) {
    case OCA_STATUS_READY:
        return "ready";
    case OCA_STATUS_STOPPING:
        return "stopping";
    default:
        return "starting";
    }
}
