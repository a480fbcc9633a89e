/* The agent's own metrics endpoint (service.telemetry.metrics.address): GET /metrics answers the
 * Prometheus text exposition 0.0.4 of every edge count (pipeline/counters.h), the process (uptime,
 * resident memory, CPU time) and the memory budget (base/budget.h). agent.c starts it before the
 * graph and closes it after the graph has stopped, so the counts can be scraped for the whole run. */
#ifndef OCA_AGENT_TELEMETRY_H
#define OCA_AGENT_TELEMETRY_H

#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "config/fields.h"

struct oca_telemetry;

/* Binds address (a copy is kept) and serves on loop; uptime counts from this call. Returns OCA_OK
 * with *out set, or OCA_ERR_IO / OCA_ERR_CONFIG after logging why (port in use, unknown host). */
int oca_telemetry_start(uv_loop_t *loop, const struct oca_endpoint *address, struct oca_telemetry **out);
/* The port actually bound (address may say 0). */
uint16_t oca_telemetry_port(const struct oca_telemetry *t);
/* Stops listening and closes every connection; done(arg) fires once all handles are closed, and t
 * is freed just before. */
void oca_telemetry_close(struct oca_telemetry *t, void (*done)(void *arg), void *arg);

/* Appends the whole exposition text to out; start_hrtime is the uv_hrtime() the uptime counts
 * from. */
void oca_telemetry_render(struct oca_buf *out, uint64_t start_hrtime);

#endif
